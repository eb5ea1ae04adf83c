"""The proxy route in the gateway's OpenAPI document: it is served by the raw-ASGI endpoint
(api/proxy.py), outside FastAPI's router, so FastAPI cannot describe it on its own."""

from __future__ import annotations

from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")


def proxy_paths() -> dict[str, Any]:
    parameters = [
        {
            "name": "connection_id",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "format": "uuid"},
            "description": "A connection of the caller's tenant",
        },
        {
            "name": "path",
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": "The provider path, relative to the connection's base URL (may hold slashes)",
        },
    ]
    operation = {
        "tags": ["proxy"],
        "summary": "Call the provider through the connection",
        "description": (
            "The connection's credential is injected, the hub's and the provider's rate limits "
            "apply, a 401 triggers one refresh and one retry. The provider's answer is relayed "
            "(status, headers less hop-by-hop and secrets, body streamed). Errors the gateway "
            "itself answers carry the hub's error body."
        ),
        "requestBody": {"required": False, "content": {"*/*": {"schema": {}}}},
        "responses": {
            "default": {"description": "The provider's answer, relayed", "content": {"*/*": {"schema": {}}}},
        },
    }
    return {
        "/v1/proxy/{connection_id}/{path}": {
            "parameters": parameters,
            **{method: {**operation, "operationId": f"proxy_{method}"} for method in METHODS},
        }
    }
