"""Every service's OpenAPI document states the errors its operations answer.

Each failure has one shape (:func:`hub_common.web.errors.error_body`); FastAPI documents only
the success and a 422 with its own (wrong) validation schema. Generated clients and
schemathesis hold the APIs to the document, so every operation gets the hub's error responses,
all pointing at one ``ErrorBody`` schema, and the request id and rate-limit headers it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_BODY: dict[str, Any] = {
    "title": "ErrorBody",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "machine-readable, stable"},
                "message": {"type": "string"},
                "details": {"type": "object"},
                "request_id": {"type": "string", "description": "the trace id; quote it to an operator"},
            },
        }
    },
}

# Answered by any operation: the edge (auth, body limits, NUL, outages) or the handler.
COMMON_ERRORS: dict[str, str] = {
    "400": "The request is malformed",
    "401": "No valid bearer token",
    "403": "Not allowed (tier, policy or scope)",
    "404": "Not found, or not the caller's tenant's",
    "409": "Conflicts with the resource's current state",
    "413": "The body is larger than the service accepts",
    "415": "The body's content type is not accepted",
    "422": "The request is not valid (fields named, values never echoed)",
    "429": "Rate limited; see Retry-After",
    "500": "An internal error; quote the request id",
    "502": "A service or provider behind this one failed",
    "503": "A dependency is unavailable; see Retry-After",
    "504": "A service or provider behind this one did not answer in time",
}

_REQUEST_ID_HEADER = {
    "X-Request-Id": {"description": "The request id (the trace id)", "schema": {"type": "string"}}
}


def document_errors(app: FastAPI, extra_paths: Callable[[], dict[str, Any]] | None = None) -> None:
    """Make ``app.openapi()`` describe every error response (and add ``extra_paths``, for routes
    served outside FastAPI's router)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, routes=app.routes, description=app.description
        )
        if extra_paths is not None:
            schema.setdefault("paths", {}).update(extra_paths())
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["ErrorBody"] = ERROR_BODY
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        ref = {"$ref": "#/components/schemas/ErrorBody"}
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                if method == "parameters" or not isinstance(operation, dict):
                    continue
                responses = operation.setdefault("responses", {})
                for status, description in COMMON_ERRORS.items():
                    entry = responses.setdefault(status, {"description": description})
                    entry["content"] = {"application/json": {"schema": ref}}
                for entry in responses.values():
                    entry.setdefault("headers", {}).update(_REQUEST_ID_HEADER)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
