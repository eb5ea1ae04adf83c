"""Notion's error answers as action errors, and its rate-limit signals.

Notion answers errors as ``{"object": "error", "status", "code", "message"}`` (its "Status
codes" reference). Rate limits: about three requests a second on average, then 429
``rate_limited`` with ``Retry-After`` in seconds; 529 is Notion's "overloaded" (and 503
``service_unavailable``), which may carry ``Retry-After`` too. The hub's gateway waits out a
short ``Retry-After`` itself; what reaches a connector is a longer one (or the gateway's own
refusal), surfaced with ``retry_after_s`` so the caller knows when to come back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub_connector_sdk import (
    CredentialsRejected,
    GatewayError,
    ProviderError,
    ProviderResponse,
    error_for,
    retry_after,
)

DEFAULT_WAIT_S = 1.0  # Notion's advice without Retry-After: back off; ~3 requests a second

# Notion's error codes → the hub's action error codes.
CODES: dict[str, str] = {
    "rate_limited": "provider_rate_limited",
    "service_unavailable": "provider_unavailable",
    "database_connection_unavailable": "provider_unavailable",
    "gateway_timeout": "provider_unavailable",
    "internal_server_error": "provider_error",
    "object_not_found": "provider_not_found",
    "restricted_resource": "provider_forbidden",
    "unauthorized": "credentials_rejected",
    "conflict_error": "provider_conflict",
    "validation_error": "provider_rejected",
    "invalid_json": "provider_rejected",
    "invalid_request": "provider_rejected",
    "invalid_request_url": "provider_rejected",
    "missing_version": "provider_rejected",
}
_BUSY = {503, 529}


def wait_seconds(status: int, headers: Mapping[str, str]) -> float | None:
    """How long to wait before the next call: ``Retry-After`` when sent, else a second for a
    429/503/529 (Notion's guidance: slow down), else None."""
    lowered = {k.lower(): v for k, v in headers.items()}
    advised = retry_after(lowered)
    if advised is not None:
        return advised
    return DEFAULT_WAIT_S if status == 429 or status in _BUSY else None


def notion_error(resp: ProviderResponse) -> ProviderError:
    """An error answer → the action error: Notion's own code and message (``object_not_found:
    Could not find page with ID ...``), the hub code it maps to, and the wait for 429/529."""
    err = error_for(resp)
    if isinstance(err, GatewayError):
        return err  # the gateway's own refusal (its rate limit, an unreachable host...)
    body: Any
    try:
        body = resp.json()
    except ValueError:
        body = None
    notion_code = body.get("code") if isinstance(body, dict) else None
    if resp.status_code in _BUSY:
        code = "provider_unavailable"
    elif isinstance(notion_code, str) and notion_code in CODES:
        code = CODES[notion_code]
    else:
        code = err.code
    message = f"{notion_code}: {err.message}" if isinstance(notion_code, str) else err.message
    if code == "credentials_rejected":
        return CredentialsRejected(message, status_code=resp.status_code, body_excerpt=err.body_excerpt)
    return ProviderError(
        message,
        code=code,
        status_code=resp.status_code,
        retry_after_s=wait_seconds(resp.status_code, resp.headers),
        body_excerpt=err.body_excerpt,
        details={"notion_code": notion_code} if isinstance(notion_code, str) else None,
    )
