"""Logs, request ids, PII masking and metrics."""
