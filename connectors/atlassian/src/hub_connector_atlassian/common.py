"""What Jira and Confluence share: Atlassian OAuth 2.0 (3LO), the site (cloud id) a connection
works on, error bodies, rate-limit headers and the hosts a connection may point at.

Cloud calls with an OAuth token go to ``https://api.atlassian.com/ex/{jira|confluence}/{cloud_id}/``.
The connection's base URL stays ``https://api.atlassian.com`` (overridable: simulators); the
connector puts ``ex/<product>/<cloud_id>`` in front of every path. The cloud id is the
connection's ``cloud_id`` config, else the site named by ``site_url``, else the only site the
token reaches (``GET /oauth/token/accessible-resources``); a token reaching several sites
without a choice is refused with the list to choose from. With an API token (basic auth) the
base URL is the site itself (``https://<site>.atlassian.net`` or a Data Center host) and no
prefix is used.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub_connector_sdk import (
    ConnectorError,
    CredentialField,
    GatewayError,
    OAuthConfig,
    ProviderClient,
    ProviderError,
    ProviderResponse,
    body_excerpt,
    error_for,
    retry_after,
    segment,
)

API_BASE = "https://api.atlassian.com"
AUTHORIZE_URL = "https://auth.atlassian.com/authorize"
TOKEN_URL = "https://auth.atlassian.com/oauth/token"
RESOURCES_PATH = "oauth/token/accessible-resources"
HOSTS_ENV = "HUB_ATLASSIAN_HOSTS"
SITES_TTL_S = 600.0
_URL = {"type": "string", "format": "uri", "maxLength": 2048}
UUID_PATTERN = r"^[0-9a-fA-F-]{8,64}$"


def data_center_hosts() -> list[str]:
    """Data Center / Server hosts the operator allows (``HUB_ATLASSIAN_HOSTS``, comma-separated
    ``host`` or ``host:port``): an API-token connection may point its base URL there."""
    raw = os.environ.get(HOSTS_ENV, "")
    return [h.strip().lower() for h in raw.split(",") if h.strip()]


def allowed_hosts() -> list[str]:
    return ["api.atlassian.com", "*.atlassian.net", *data_center_hosts()]


def oauth_config(scopes: list[str]) -> OAuthConfig:
    """Atlassian 3LO: ``audience=api.atlassian.com`` and ``prompt=consent`` on the authorize
    URL, ``offline_access`` for a refresh token, JSON token requests, rotating refresh tokens
    (each refresh returns a new one; the hub's race-free refresh keeps exactly one in use), no
    per-token revocation API; the account from ``GET https://api.atlassian.com/me``."""
    return OAuthConfig(
        authorization_url=AUTHORIZE_URL,
        token_url=TOKEN_URL,
        revocation_style="none",
        default_scopes=[*scopes, "offline_access"],
        scope_separator=" ",
        use_pkce=False,  # not documented by Atlassian
        client_auth="client_secret_post",
        token_request_format="json",
        extra_authorize_params={"audience": "api.atlassian.com", "prompt": "consent"},
        refresh="rotating",
        profile="atlassian",
        identity_url=f"{API_BASE}/me",
        identity_id_field="account_id",
        identity_name_field="name",
    )


def token_fields(product: str) -> list[CredentialField]:
    """Basic auth with an Atlassian account's email and API token (Cloud), or a username and
    password / personal access token (Data Center): the gateway sends ``Authorization: Basic``."""
    return [
        CredentialField(
            key="username",
            label="Email (Cloud) or username (Data Center)",
            secret=False,
            pattern=r"^[^\s:]{1,254}$",
        ),
        CredentialField(
            key="password",
            label="API token",
            description=f"id.atlassian.com → Security → API tokens (Cloud); {product} Data Center: "
            "the account's password or personal access token",
        ),
    ]


def config_schema(*, oauth: bool, extra: Mapping[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "base_url": {
            **_URL,
            "description": "API token: the site (https://<site>.atlassian.net or a Data Center URL); "
            "OAuth: only to point at another gateway host (default https://api.atlassian.com)",
        },
        **extra,
    }
    if oauth:
        properties["cloud_id"] = {
            "type": "string",
            "pattern": UUID_PATTERN,
            "description": "the site to work on (accessible-resources id); default: the only site",
        }
        properties["site_url"] = {**_URL, "description": "pick the site by its URL instead of cloud_id"}
        for key in ("authorization", "token", "identity", "resources"):
            properties[f"oauth_{key}_url"] = {**_URL, "description": "endpoint override (tests, proxies)"}
    return {"type": "object", "properties": properties, "additionalProperties": False}


# -- sites -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Site:
    id: str
    name: str
    url: str
    scopes: tuple[str, ...]

    def view(self) -> dict[str, Any]:
        return {"cloud_id": self.id, "name": self.name, "url": self.url}


# connection id -> (expires at, sites): the accessible resources change rarely, and a connector
# instance lives for one call.
_SITES: dict[str, tuple[float, list[Site]]] = {}


async def accessible_sites(client: ProviderClient, connection_id: str) -> list[Site]:
    cached = _SITES.get(connection_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    resp = await client.request("GET", RESOURCES_PATH, raise_for_status=False)
    if not resp.ok:
        raise atlassian_error(resp)
    sites = [
        Site(str(r["id"]), str(r.get("name", "")), str(r.get("url", "")), tuple(r.get("scopes") or ()))
        for r in resp.json() or []
        if isinstance(r, dict) and r.get("id")
    ]
    if len(_SITES) > 10_000:
        _SITES.clear()
    _SITES[connection_id] = (time.monotonic() + SITES_TTL_S, sites)
    return sites


def forget_sites(connection_id: str) -> None:
    _SITES.pop(connection_id, None)


async def choose_site(
    client: ProviderClient, connection_id: str, config: Mapping[str, Any], product: str
) -> Site:
    """The site this connection works on (see the module docstring). A configured cloud id
    costs no call (a wrong one gets Atlassian's 404 on the call itself)."""
    wanted_id = config.get("cloud_id")
    if wanted_id:
        return Site(str(wanted_id), "", "", ())
    sites = await accessible_sites(client, connection_id)
    wanted_url = str(config.get("site_url") or "").rstrip("/").lower()
    if wanted_url:
        found = next((s for s in sites if s.url.rstrip("/").lower() == wanted_url), None)
    else:
        usable = [s for s in sites if any(product in scope for scope in s.scopes)] or sites
        found = usable[0] if len(usable) == 1 else None
        if found is None:
            raise ConnectorError(
                f"the token reaches {len(usable)} {product} sites: set the connection's cloud_id "
                "(or site_url) to one of: " + ", ".join(f"{s.url} ({s.id})" for s in usable),
                code="site_required",
                status_code=409,
            )
    if found is None:
        raise ConnectorError(
            f"the token does not reach the configured {product} site; reachable: "
            + ", ".join(f"{s.url} ({s.id})" for s in sites),
            code="site_not_accessible",
            status_code=409,
        )
    return found


def site_prefix(product: str, cloud_id: str) -> str:
    return f"ex/{product}/{segment(cloud_id)}/"


# -- errors and rate limits ------------------------------------------------------------------------------
def atlassian_message(body: Any) -> str | None:
    """Jira's ``{"errorMessages": [...], "errors": {field: message}}``, Confluence v2's
    ``{"errors": [{"title", "detail"}]}``, or the gateway-style ``{"message"}``, as one line."""
    if not isinstance(body, dict):
        return None
    parts: list[str] = []
    messages = body.get("errorMessages")
    if isinstance(messages, list):
        parts += [str(m) for m in messages if m]
    errors = body.get("errors")
    if isinstance(errors, dict):
        parts += [f"{field}: {message}" for field, message in errors.items()]
    elif isinstance(errors, list):
        for item in errors:
            if isinstance(item, dict):
                title, detail = item.get("title"), item.get("detail")
                parts.append(": ".join(str(x) for x in (title, detail) if x) or str(item.get("code", "")))
    if not parts and isinstance(body.get("message"), str):
        parts.append(body["message"])
    text = "; ".join(p for p in parts if p)
    return text[:500] or None


@dataclass(frozen=True)
class RateLimit:
    """Atlassian's ``X-RateLimit-Limit``, ``-Remaining``, ``-Reset`` (ISO 8601),
    ``-NearLimit`` and ``RateLimit-Reason``."""

    limit: int | None
    remaining: int | None
    reset_at: datetime | None
    near_limit: bool
    reason: str | None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimit:
    lowered = {k.lower(): v for k, v in headers.items()}
    reset: datetime | None = None
    raw = lowered.get("x-ratelimit-reset")
    if raw:
        try:
            reset = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
            if reset.tzinfo is None:
                reset = reset.replace(tzinfo=UTC)
        except ValueError:
            reset = None
    return RateLimit(
        limit=_int(lowered.get("x-ratelimit-limit")),
        remaining=_int(lowered.get("x-ratelimit-remaining")),
        reset_at=reset,
        near_limit=lowered.get("x-ratelimit-nearlimit", "").strip().lower() == "true",
        reason=lowered.get("ratelimit-reason"),
    )


def wait_seconds(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """``Retry-After`` when sent, else until ``X-RateLimit-Reset``, else unknown."""
    lowered = {k.lower(): v for k, v in headers.items()}
    advised = retry_after(lowered)
    if advised is not None:
        return advised
    limit = parse_rate_limit(lowered)
    if limit.reset_at is not None:
        return max(0.0, (limit.reset_at - (now or datetime.now(UTC))).total_seconds())
    return None


def atlassian_error(resp: ProviderResponse) -> ProviderError:
    """``error_for`` with Atlassian's error bodies as the message; 429 (and a 503 with
    ``Retry-After``) becomes ``provider_rate_limited`` with the wait."""
    err = error_for(resp)
    if isinstance(err, GatewayError):  # the hub's own refusal, not Atlassian's
        return err
    try:
        body = resp.json()
    except ValueError:
        body = None
    message = atlassian_message(body) or err.message
    if resp.status_code == 429 or (resp.status_code == 503 and "retry-after" in resp.headers):
        reason = parse_rate_limit(resp.headers).reason
        return ProviderError(
            message + (f" ({reason})" if reason else ""),
            code="provider_rate_limited",
            status_code=resp.status_code,
            retry_after_s=wait_seconds(resp.headers),
            body_excerpt=body_excerpt(resp),
        )
    if message == err.message:
        return err
    return type(err)(
        message,
        code=err.code,
        status_code=err.status_code,
        retry_after_s=err.retry_after_s,
        body_excerpt=err.body_excerpt,
    )


class PassCursor:
    """Where an export stands: the provider's page token of the pass under way, the ``since``
    this pass started from and the newest change seen (opaque base64 JSON to the hub). A
    finished pass's cursor starts the next, incremental one at that newest change."""

    def __init__(self, token: str | None = None, since: str | None = None, high: str | None = None) -> None:
        self.token, self.since, self.high = token, since, high

    @classmethod
    def decode(cls, cursor: str | None) -> PassCursor:
        if not cursor:
            return cls()
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            return cls(data.get("token"), data.get("since"), data.get("high"))
        except (ValueError, TypeError, AttributeError, binascii.Error):
            raise ConnectorError(
                "export cursor is not one this connector wrote", code="invalid_cursor"
            ) from None

    def finished(self) -> PassCursor:
        since = self.high or self.since
        return PassCursor(None, since, since)

    def encode(self) -> str:
        data = {"token": self.token, "since": self.since, "high": self.high}
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()
