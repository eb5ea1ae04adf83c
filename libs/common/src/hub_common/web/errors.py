"""Uniform error bodies: ``{"error": {"code", "message", "details"}}`` for every failure."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub_common.errors import HubError
from hub_common.logging import request_id_var
from hub_common.telemetry import record_server_error
from hub_common.web.nul import NulInBody
from hub_common.web.responses import JsonResponse

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


INTERNAL_ERROR_MESSAGE = "internal error; quote the request id to an operator"


def error_body(
    code: str, message: str, details: dict[str, Any] | None = None, request_id: str | None = None
) -> dict[str, Any]:
    """``{"error": {"code", "message", "details"[, "request_id"]}}``: every failure's shape."""
    error: dict[str, Any] = {"code": code, "message": message, "details": details or {}}
    if request_id:
        error["request_id"] = request_id
    return {"error": error}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    body = error_body(code, message, details, request_id_var.get())
    return JsonResponse(body, status_code=status, headers=headers)


def _validation_details(exc: RequestValidationError) -> dict[str, Any]:
    # Never echo the offending input back: it may be a secret.
    return {
        "fields": [
            {
                "loc": _safe_loc(err.get("loc", ()), err.get("type")),
                "type": err.get("type"),
                "msg": err.get("msg"),
            }
            for err in exc.errors()
        ]
    }


def _safe_loc(loc: Any, error_type: Any) -> list[str]:
    """An error's location without the parts the caller wrote: a mapping key that failed
    validation (pydantic marks it ``[key]``) and the name of a field the model does not have.
    Either may be a secret sent in the wrong place (``{"values": {"<token>": "access_token"}}``)."""
    parts = [str(p) for p in loc]
    for i, part in enumerate(parts):
        if part == "[key]" and i > 0:
            parts[i - 1] = "<key>"
    if error_type == "extra_forbidden" and parts:
        parts[-1] = "<unknown field>"
    return parts


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HubError)
    async def _hub_error(_: Request, exc: HubError) -> JsonResponse:
        record_server_error(exc, exc.status_code)
        return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JsonResponse:
        return error_response(422, "validation_error", "request is not valid", _validation_details(exc))

    @app.exception_handler(NulInBody)
    async def _nul(_: Request, exc: NulInBody) -> JsonResponse:
        return error_response(422, "invalid_character", str(exc.detail))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JsonResponse:
        code = _CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    # No handler for ``Exception``: Starlette would answer from its outermost middleware and then
    # re-raise, which resets the keep-alive connection. RequestContextMiddleware answers instead.
