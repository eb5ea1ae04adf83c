"""HTTP entry points: routes, request/response schemas, dependencies."""
