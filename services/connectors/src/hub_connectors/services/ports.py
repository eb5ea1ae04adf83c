"""What the use cases need from the outside world, as protocols (adapters live in ``adapters/``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol
from uuid import UUID

from hub_connectors.domain.connection import Connection
from hub_connectors.domain.rate_limit_status import RateLimitStatus
from hub_connectors.domain.webhook_registration import WebhookRegistration
from hub_connectors.services.caller import Caller


class CredentialStore(Protocol):
    """Where connection credentials go. This service writes and wipes; it never reads a value."""

    async def store(self, tenant_id: str, connection_id: UUID, values: Mapping[str, str]) -> None: ...

    async def delete_all(self, tenant_id: str, connection_id: UUID) -> list[str]: ...


class Revoker(Protocol):
    """Revokes a connection's grant at the provider before its credentials are deleted."""

    async def revoke(self, connection: Connection) -> str:
        """``revoked`` or ``skipped`` (never raises: a disconnect must not hinge on the provider)."""
        ...


class RateLimits(Protocol):
    """A connection's rate-limit status (the gateway's)."""

    async def status(self, caller: Caller, connection_id: UUID) -> RateLimitStatus: ...


class WebhookRegistrations(Protocol):
    """A connection's webhook registrations (the webhooks service's), for the caller's tenant."""

    async def of_connection(self, caller: Caller, connection_id: UUID) -> list[WebhookRegistration]: ...

    async def create(
        self, caller: Caller, connection_id: UUID, trigger_ids: list[str], mode: str
    ) -> WebhookRegistration: ...

    async def delete(self, caller: Caller, registration_id: UUID) -> bool: ...

    async def put_secret(self, caller: Caller, registration_id: UUID, secret: str) -> WebhookRegistration: ...
