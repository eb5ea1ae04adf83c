"""HTTP API of the oauth service."""
