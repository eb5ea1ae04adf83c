"""Integration Hub oauth service: OAuth Manager."""
