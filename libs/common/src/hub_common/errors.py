"""The hub's error type: every failure a client can see has a status, a code and a message.

Rendered as ``{"error": {"code", "message", "details"}}`` by :mod:`hub_common.web.errors`.
Messages and details must never carry secret values.
"""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details = details or {}
        self.headers = headers or {}

    def to_body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(HubError):
    status_code = 400
    code = "bad_request"


class Unauthorized(HubError):
    status_code = 401
    code = "unauthorized"


class Forbidden(HubError):
    status_code = 403
    code = "forbidden"


class NotFound(HubError):
    status_code = 404
    code = "not_found"


class Conflict(HubError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(HubError):
    status_code = 413
    code = "payload_too_large"


class Unprocessable(HubError):
    status_code = 422
    code = "validation_error"


class TooManyRequests(HubError):
    status_code = 429
    code = "rate_limited"


class ServiceUnavailable(HubError):
    status_code = 503
    code = "unavailable"


class ConfigurationError(Exception):
    """Bad or unreachable configuration; printed as one line naming the cause."""
