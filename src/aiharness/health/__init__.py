"""Liveness, readiness and metrics endpoints, and the dependency checks behind them."""
