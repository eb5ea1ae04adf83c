"""The calls ``hub_common.clients.vault.VaultClient`` does not have yet: HMAC signing and the
admin API (key versions, rotation, retirement, rewrap jobs). Everything else — store, read,
read_versioned, delete, list_keys, delete_all, generate, verify_hmac — is the common client's,
and ``tests/integration/test_client.py`` holds it to this service's API.

    async with VaultAdminClient.from_settings(settings) as vault:   # mints its own tokens
        await vault.rotate()
        job = await vault.start_rewrap()

TODO(lead): fold these methods into hub_common.clients.vault, so hubctl (admin) and webhooks
(signing outbound deliveries) can use them without importing hub_vault.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self
from uuid import UUID

from hub_common.clients.vault import VaultClient
from hub_common.settings import HubSettings
from hub_common.web.auth import ServiceTokenMinter

SecretFormatName = Literal["raw", "base64", "hex", "whsec"]
RAW: SecretFormatName = "raw"


@dataclass(frozen=True, slots=True)
class KeyVersion:
    version: int
    primary: bool
    state: str  # primary | active | retired | missing
    in_keyring: bool
    values: int


@dataclass(frozen=True, slots=True)
class RewrapJob:
    id: UUID
    status: str  # running | completed | failed | superseded
    target_version: int
    total: int
    rewrapped: int
    skipped: int
    failed: int
    remaining: int | None


def _job(body: dict[str, Any]) -> RewrapJob:
    return RewrapJob(UUID(body["id"]), body["status"], body["target_version"], body["total"],
                     body["rewrapped"], body["skipped"], body["failed"], body.get("remaining"))


def _version(body: dict[str, Any]) -> KeyVersion:
    return KeyVersion(body["version"], body["primary"], body["state"], body["in_keyring"],
                      body["values"])


class VaultAdminClient(VaultClient):
    @classmethod
    def from_settings(cls, settings: HubSettings, **kwargs: Any) -> Self:
        return cls(settings.vault_url, ServiceTokenMinter.from_settings(settings), **kwargs)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()

    async def sign_hmac(self, tenant_id: str, connection_id: UUID | str, key: str, message: bytes, *,
                        secret_format: SecretFormatName = RAW,
                        encoding: Literal["hex", "base64"] = "hex") -> str:
        """HMAC-SHA256 of ``message`` with the stored secret ``key`` (which never leaves the vault)."""
        resp = await self._call("POST", self._path(tenant_id, connection_id, "hmac/sign"), {
            "key": key, "message_base64": base64.b64encode(message).decode("ascii"),
            "secret_format": secret_format, "encoding": encoding,
        })
        return str(resp.json()["signature"])

    async def key_versions(self) -> list[KeyVersion]:
        resp = await self._call("GET", "/v1/admin/key-versions")
        return [_version(v) for v in resp.json()["versions"]]

    async def rotate(self) -> KeyVersion:
        """A new random key version becomes the primary (needs a writable keyring file)."""
        return _version((await self._call("POST", "/v1/admin/key-versions")).json())

    async def retire(self, version: int) -> bool:
        """Retire ``version`` (409 while values use it); True if its material was destroyed."""
        resp = await self._call("POST", f"/v1/admin/key-versions/{version}/retire")
        return bool(resp.json()["material_destroyed"])

    async def start_rewrap(self, batch_size: int | None = None) -> RewrapJob:
        body = {"batch_size": batch_size} if batch_size else None
        return _job((await self._call("POST", "/v1/admin/rewrap-jobs", body)).json())

    async def rewrap_job(self, job_id: UUID | str) -> RewrapJob:
        return _job((await self._call("GET", f"/v1/admin/rewrap-jobs/{job_id}")).json())
