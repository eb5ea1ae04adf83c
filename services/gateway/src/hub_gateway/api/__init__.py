"""HTTP entry points: the raw-ASGI proxy route and the FastAPI admin routes."""
