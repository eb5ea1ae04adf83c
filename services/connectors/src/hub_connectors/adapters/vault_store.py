"""``CredentialStore`` backed by the vault service (HUB_VAULT_URL), as the ``connectors`` identity."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from hub_common.clients.vault import VaultClient


class VaultCredentialStore:
    def __init__(self, client: VaultClient) -> None:
        self._client = client

    async def store(self, tenant_id: str, connection_id: UUID, values: Mapping[str, str]) -> None:
        for key, value in values.items():
            await self._client.store(tenant_id, connection_id, key, value)

    async def delete_all(self, tenant_id: str, connection_id: UUID) -> list[str]:
        return await self._client.delete_all(tenant_id, connection_id)

    async def aclose(self) -> None:
        await self._client.aclose()
