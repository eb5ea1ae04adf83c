"""Typed HTTP clients for the hub's internal APIs (so no service imports another's package)."""
