"""A connection as the Integration Manager sees it (never a secret: those live in the vault)."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from hub_connector_sdk import ConnectorManifest
from hub_connectors.domain.hosts import HostNotAllowed
from hub_connectors.domain.states import ConnectionStatus

BASE_URL_CONFIG_KEY = "base_url"
# last_error of a connection whose creation never finished (services/sweeper.py).
ABANDONED = "abandoned: its creation never finished"


@dataclass(frozen=True)
class Connection:
    id: UUID
    tenant_id: str
    user_id: str
    connector_id: str
    connector_version: str
    category: str
    custom: bool
    auth_method: str
    name: str
    status: ConnectionStatus
    base_url: str
    config: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    external_account_id: str | None = None
    external_account_name: str | None = None
    connected_at: datetime | None = None
    last_health_check_at: datetime | None = None
    last_health_check_status: bool | None = None
    last_health_check_latency_ms: int | None = None
    last_error: str | None = None
    active_triggers_count: int = 0
    status_changed_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    disconnected_at: datetime | None = None


def resolve_base_url(manifest: ConnectorManifest, config: Mapping[str, Any]) -> str:
    """The URL the gateway will call: an explicit override, the template filled from config,
    or the manifest's default."""
    override = config.get(BASE_URL_CONFIG_KEY)
    if isinstance(override, str) and override:
        return override.rstrip("/")
    template = manifest.api.base_url_template
    if template:
        names = [n for _, n, _, _ in string.Formatter().parse(template) if n]
        missing = [n for n in names if not isinstance(config.get(n), str | int)]
        if missing:
            raise HostNotAllowed(
                "config lacks values the base URL template needs", details={"missing": missing}
            )
        return template.format(**{n: str(config[n]) for n in names}).rstrip("/")
    return manifest.api.base_url.rstrip("/")
