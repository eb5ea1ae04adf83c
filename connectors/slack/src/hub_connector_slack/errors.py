"""Slack's answers as errors, and its per-method rate-limit tiers.

Slack answers almost every failure with HTTP 200 and ``{"ok": false, "error": "<code>"}``; only a
rate limit is an HTTP 429, with ``Retry-After`` in seconds and the body ``{"ok": false, "error":
"ratelimited"}``. Limits are per method and per workspace, in tiers (Slack's "Rate limits" page):
Tier 1 ≈ 1+/min, Tier 2 ≈ 20+/min, Tier 3 ≈ 50+/min, Tier 4 ≈ 100+/min; ``chat.postMessage`` is
"special": about one message per second per channel, with short bursts allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub_connector_sdk import (
    CredentialsRejected,
    ProviderError,
    ProviderResponse,
    body_excerpt,
    error_for,
    retry_after,
)

# Slack's "Rate limits" documentation, per method this connector calls.
METHOD_TIERS: dict[str, str] = {
    "chat.postMessage": "special",  # ~1 per second per channel
    "chat.update": "tier3",
    "reactions.add": "tier3",
    "conversations.list": "tier2",
    "conversations.replies": "tier3",
    "users.info": "tier4",
    "auth.test": "tier4",
}
# Requests per minute each tier allows at least ("1+", "20+", "50+", "100+"); special: per channel.
TIER_PER_MINUTE = {"tier1": 1, "tier2": 20, "tier3": 50, "tier4": 100, "special": 60}
# Default wait when a 429 carries no readable Retry-After (Slack always sends one; be safe).
DEFAULT_WAIT_S = 60.0
# ok:false codes that mean the token itself is refused (not a problem with the call's arguments).
# Not token_expired: with token rotation that is a 12-hour token the oauth service refreshes, so
# it must not mark the connection token_invalid.
CREDENTIAL_ERRORS = frozenset(
    {"not_authed", "invalid_auth", "token_revoked", "account_inactive", "no_permission"}
)
RATE_LIMITED = frozenset({"ratelimited", "rate_limited"})


@dataclass(frozen=True)
class MethodLimit:
    """What a rate-limited answer said about one method."""

    method: str
    tier: str | None
    retry_after_s: float


def method_limit(method: str, status: int, headers: Mapping[str, str], body: Any) -> MethodLimit | None:
    """The limit an answer reports for ``method``: a 429 (or ``ok: false`` with ``ratelimited``),
    waiting ``Retry-After`` seconds; None when the answer is no rate limit."""
    code = body.get("error") if isinstance(body, dict) else None
    if status != 429 and code not in RATE_LIMITED:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    wait = retry_after(lowered)
    return MethodLimit(method, METHOD_TIERS.get(method), DEFAULT_WAIT_S if wait is None else wait)


def slack_error(method: str, resp: ProviderResponse) -> ProviderError | None:
    """The error an answer of ``method`` means, or None when it succeeded (HTTP 2xx and ``ok``).

    - a rate limit → ``provider_rate_limited`` with ``retry_after_s`` and the method and tier;
    - ``ok: false`` with a credential code → CredentialsRejected (health: ``token_invalid``);
    - any other ``ok: false`` → Slack's own error code (``channel_not_found``...), with Slack's
      ``needed``/``provided`` scopes or ``response_metadata.messages`` in the message;
    - a non-2xx answer that is not Slack's (the gateway's own refusal, a 5xx) → ``error_for``.
    """
    try:
        body = resp.json()
    except ValueError:
        body = None
    limit = method_limit(method, resp.status_code, resp.headers, body)
    if limit is not None:
        return ProviderError(
            f"Slack rate-limited {method} ({limit.tier or 'unknown tier'}); "
            f"retry in {limit.retry_after_s:g}s",
            code="provider_rate_limited",
            status_code=resp.status_code,
            retry_after_s=limit.retry_after_s,
            details={"method": method, "tier": limit.tier},
            body_excerpt=body_excerpt(resp),
        )
    if not isinstance(body, dict) or "ok" not in body:
        return None if resp.ok else error_for(resp)
    if body.get("ok") is True and resp.ok:
        return None
    if not resp.ok and body.get("ok") is not False:
        return error_for(resp)
    code = str(body.get("error") or "unknown_error")[:100]
    message = f"Slack refused {method}: {code}"
    if body.get("needed"):
        message += f" (needs scope {str(body['needed'])[:200]})"
    warnings = (body.get("response_metadata") or {}).get("messages")
    if isinstance(warnings, list) and warnings:
        message += f" — {'; '.join(str(w) for w in warnings[:3])[:300]}"
    if code in CREDENTIAL_ERRORS:
        return CredentialsRejected(
            message, code=code, status_code=resp.status_code, body_excerpt=body_excerpt(resp)
        )
    return ProviderError(
        message,
        code=code,
        status_code=resp.status_code,
        details={"method": method, "slack_error": code},
        body_excerpt=body_excerpt(resp),
    )
