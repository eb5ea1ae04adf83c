"""Signing secrets of registrations, read from the vault and held in memory briefly.

ADR 0019: verifying inside the vault costs a service call carrying the whole body (up to 1 MiB)
per delivery and supports only one HMAC shape; the webhooks service instead reads its own
``webhook_secret*`` keys (the vault policy allows nothing else) and verifies in process with the
SDK's ``verify_webhook``, like the gateway holds the tokens it injects. Values live in memory for
``ttl_s``; every rotation writes a new key name, so a cached value is never a stale version of
its key, and ``credential.changed`` (deleted, revoked) drops entries at once.
"""

from __future__ import annotations

import asyncio
import secrets as random
import time
from uuid import UUID

from hub_common.clients.vault import VaultClient
from hub_common.credential_keys import WEBHOOK_SECRET, secondary
from hub_connector_sdk.webhook_signatures import PRESETS, HmacSignature


def registration_key(registration_id: UUID, version: int = 0) -> str:
    """The vault key of a registration's secret; every rotation gets a new version (name)."""
    base = secondary(WEBHOOK_SECRET, f"reg-{registration_id.hex}")
    return base if version == 0 else f"{base}-v{version}"


def new_secret(preset: str | None) -> str:
    """32 random bytes, in the shape the provider's scheme reads (schemes keyed with base64
    secrets — Standard Webhooks, GitLab's signing token: whsec_ + base64; the rest take the text
    as given)."""
    raw = random.token_bytes(32)
    scheme = PRESETS.get(preset or "")
    if isinstance(scheme, HmacSignature) and scheme.secret_encoding == "base64":
        import base64

        return "whsec_" + base64.b64encode(raw).decode("ascii")
    return raw.hex()


class SecretCache:
    def __init__(self, vault: VaultClient, *, ttl_s: float) -> None:
        self._vault = vault
        self._ttl = ttl_s
        self._values: dict[tuple[str, str, str], tuple[str | None, float]] = {}
        self._loading: dict[tuple[str, str, str], asyncio.Future[str | None]] = {}

    async def values(self, tenant_id: str, connection_id: UUID, keys: list[str]) -> list[str]:
        out: list[str] = []
        now = time.monotonic()
        for key in keys:
            slot = (tenant_id, str(connection_id), key)
            hit = self._values.get(slot)
            if hit is not None and hit[1] > now:
                value = hit[0]
            else:
                value = await self._read_once(slot, tenant_id, connection_id, key)
            if value:
                out.append(value)
        return out

    async def _read_once(
        self, slot: tuple[str, str, str], tenant_id: str, connection_id: UUID, key: str
    ) -> str | None:
        """One vault read in flight per key; concurrent deliveries share its answer."""
        pending = self._loading.get(slot)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._loading[slot] = future
        try:
            value = await self._vault.read(tenant_id, connection_id, key)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        finally:
            self._loading.pop(slot, None)
        self._values[slot] = (value, time.monotonic() + self._ttl)
        future.set_result(value)
        return value

    async def store(self, tenant_id: str, connection_id: UUID, key: str, value: str) -> None:
        await self._vault.store(tenant_id, connection_id, key, value)
        self._values.pop((tenant_id, str(connection_id), key), None)

    async def delete(self, tenant_id: str, connection_id: UUID, key: str) -> None:
        self.forget(tenant_id, str(connection_id), key)
        await self._vault.delete(tenant_id, connection_id, key)

    def forget(self, tenant_id: str, connection_id: str, key: str | None = None) -> None:
        """Drop cached values (one key, or every key of the connection)."""
        for slot in list(self._values):
            if slot[0] == tenant_id and slot[1] == connection_id and (key is None or slot[2] == key):
                del self._values[slot]
