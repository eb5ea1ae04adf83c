"""A webhook registration: the URL a provider posts to, its secrets and its counters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from hub_common.errors import NotFound, Unprocessable


class Mode(StrEnum):
    AUTO = "auto"  # the hub registers the URL at the provider through the connector
    MANUAL = "manual"  # the user pastes URL and secret into the provider's settings


class SecretSource(StrEnum):
    REGISTRATION = "registration"  # its own secret: generated, or stored with PUT .../secret
    # The connection's OAuth app client secret, which the provider signs with (Atlassian's JWTs):
    # the oauth service keeps a copy in the vault and names its keys (docs/adr/0030).
    OAUTH_APP = "oauth_app"


class Status(StrEnum):
    ACTIVE = "active"
    PENDING_SECRET = "pending_secret"  # waits for a provider-issued secret (PUT .../secret, Notion)
    DELETED = "deleted"


# Providers whose webhooks can only be configured by hand (per-app settings, no hook API).
MANUAL_ONLY_PRESETS = frozenset({"slack-v0", "notion"})
MANUAL_ONLY_CONNECTORS = frozenset({"slack", "notion", "confluence"})
# Providers that issue the signing secret themselves: a manual registration waits for it.
PROVIDER_ISSUED_PRESETS = frozenset({"slack-v0", "linear", "notion", "atlassian-jwt", "jira-hmac"})


class RegistrationNotFound(NotFound):
    code = "registration_not_found"

    def __init__(self) -> None:
        super().__init__("no such webhook registration")


class RegistrationRefused(Unprocessable):
    code = "registration_refused"


@dataclass(frozen=True, slots=True)
class Registration:
    id: UUID
    tenant_id: str
    user_id: str
    connection_id: UUID
    connector_id: str
    mode: Mode
    status: Status
    trigger_ids: list[str]
    filter: dict[str, Any] | None
    events: list[str]
    routing_key: str | None
    external_id: str | None
    provider_metadata: dict[str, Any]
    signature_spec: dict[str, Any] | None
    secret_key: str | None
    previous_secret_key: str | None
    previous_valid_until: datetime | None
    expires_at: datetime | None
    received_count: int
    last_received_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    created_at: datetime
    updated_at: datetime
    secret_source: SecretSource = SecretSource.REGISTRATION

    def secret_keys(self, now: datetime) -> list[str]:
        """The vault keys whose values verify now: the current one, and the previous one during
        the rotation overlap."""
        keys = [self.secret_key] if self.secret_key else []
        if self.previous_secret_key and self.previous_valid_until and self.previous_valid_until > now:
            keys.append(self.previous_secret_key)
        return keys

    @property
    def preset(self) -> str | None:
        return (self.signature_spec or {}).get("preset")
