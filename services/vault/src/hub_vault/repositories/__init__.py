"""SQL only: each function takes an open connection; use cases own the transactions."""
