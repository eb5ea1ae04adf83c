"""What the use cases need from the outside world, as protocols (adapters live in ``adapters/``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol
from uuid import UUID

from hub_connectors.domain.connection import Connection


class CredentialStore(Protocol):
    """Where connection credentials go. This service writes and wipes; it never reads a value."""

    async def store(self, tenant_id: str, connection_id: UUID, values: Mapping[str, str]) -> None: ...

    async def delete_all(self, tenant_id: str, connection_id: UUID) -> list[str]: ...


class Revoker(Protocol):
    """Revokes a connection's grant at the provider before its credentials are deleted."""

    async def revoke(self, connection: Connection) -> str:
        """``revoked`` or ``skipped`` (never raises: a disconnect must not hinge on the provider)."""
        ...
