"""SQL only: each function takes the caller's connection (and so its transaction)."""
