"""Which OAuth client a tenant uses for a connector: its own app, else the deployment default."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

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
    if not url:
        return False
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "\\" in url:
        return False
    for prefix in prefixes:
        p = urlsplit(prefix)
        same_origin = (parts.scheme, parts.netloc.lower()) == (p.scheme, p.netloc.lower())
        if same_origin and parts.path.startswith(p.path or "/"):
            return True
    return False
