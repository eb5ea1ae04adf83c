"""Which OAuth client a tenant uses for a connector: its own app, else the deployment default."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

# Client secrets live in the vault, which keys values by (tenant, connection id, key). An app is
# not a connection, so it gets a stable pseudo connection id per connector.
_APP_NAMESPACE = uuid.UUID("6f1c8f0e-3f7b-4c55-9d8e-2b8a0c1d7e11")


def app_secret_owner(connector_id: str) -> uuid.UUID:
    return uuid.uuid5(_APP_NAMESPACE, f"oauth-app:{connector_id}")


@dataclass(frozen=True)
class DefaultApp:
    client_id: str
    client_secret: str | None
    redirect_uri: str | None = None
    scopes: list[str] = field(default_factory=list)


def parse_default_apps(raw: str) -> dict[str, DefaultApp]:
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        raise ValueError("HUB_OAUTH_DEFAULT_APPS is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError("HUB_OAUTH_DEFAULT_APPS must be a JSON object keyed by connector id")
    apps: dict[str, DefaultApp] = {}
    for connector_id, spec in data.items():
        if not isinstance(spec, dict) or not spec.get("client_id"):
            raise ValueError(f"HUB_OAUTH_DEFAULT_APPS[{connector_id}] needs a client_id")
        apps[connector_id] = DefaultApp(
            str(spec["client_id"]),
            spec.get("client_secret"),
            spec.get("redirect_uri"),
            list(spec.get("scopes") or []),
        )
    return apps


def return_to_allowed(url: str | None, prefixes: list[str]) -> bool:
    """True when ``url`` is on an allow-listed origin, under an allow-listed path. Compared as a
    browser would read it: no control characters or whitespace (Python's parser would drop some),
    no credentials or backslashes, no dot segments (``/ui/../admin``), and a path prefix ends at a
    segment boundary (``/ui`` allows ``/ui`` and ``/ui/x``, not ``/uievil``)."""
    if not url or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url) or "\\" in url:
        return False
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return False
    if any(seg in (".", "..") for seg in unquote(parts.path).split("/")):
        return False
    for prefix in prefixes:
        p = urlsplit(prefix)
        same_origin = (parts.scheme, parts.netloc.lower()) == (p.scheme, p.netloc.lower())
        base = p.path.rstrip("/")
        if same_origin and (not base or parts.path == base or parts.path.startswith(base + "/")):
            return True
    return False


def with_query(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` added to its query (before any fragment, where servers see them)."""
    parts = urlsplit(url)
    extra = urlencode(params)
    return urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))


def check_redirect_uri(uri: str) -> None:
    """An OAuth app's redirect URI (RFC 6749 §3.1.2, RFC 9700 §2.1): absolute https (http only to
    a loopback address, RFC 8252 §7.3), a host, no fragment, nothing a provider would compare
    differently from what we send. Raises ValueError with the reason."""
    if uri != uri.strip() or any(c.isspace() or ord(c) < 0x20 for c in uri):
        raise ValueError("the redirect URI must not contain whitespace or control characters")
    parts = urlsplit(uri)
    loopback = parts.hostname in ("127.0.0.1", "::1", "localhost")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ValueError("the redirect URI must be https (http only to a loopback address)")
    if not parts.hostname:
        raise ValueError("the redirect URI needs a host")
    if parts.fragment or "#" in uri:
        raise ValueError("the redirect URI must not have a fragment")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the redirect URI must not carry credentials")
