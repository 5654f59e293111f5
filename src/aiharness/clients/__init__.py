"""Clients of services we do not own, shared by the features that talk to them."""
