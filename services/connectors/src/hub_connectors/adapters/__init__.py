"""Adapters for the ports in ``services/ports.py``: the vault, the oauth service."""
