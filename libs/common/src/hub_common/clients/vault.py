"""Client of the vault's credential API, authenticated with this service's own token.

Values travel only in JSON bodies (never in URLs) and are never logged. Only the gateway and
oauth read token values; other services store, list and delete.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import quote
from uuid import UUID

import httpx

from hub_common.clients.service import ServiceClient, ServiceResponse
from hub_common.errors import HubError, NotFound
from hub_common.settings import HubSettings
from hub_common.web.auth import ServiceTokenMinter

SecretFormatName = Literal["raw", "base64", "hex", "whsec"]
RAW: SecretFormatName = "raw"


@dataclass(frozen=True)
class StoredCredential:
    key: str
    key_version: int
    version: int


class VaultClient:
    def __init__(
        self,
        base_url: str,
        minter: ServiceTokenMinter,
        *,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._service = ServiceClient(
            base_url, minter, audience="vault", timeout_s=timeout_s, transport=transport
        )

    async def aclose(self) -> None:
        await self._service.aclose()

    def _path(self, tenant_id: str, connection_id: UUID | str, suffix: str) -> str:
        return f"/v1/tenants/{quote(tenant_id, safe='')}/connections/{connection_id}/{suffix}"

    async def _call(self, method: str, path: str, json: Any = None) -> ServiceResponse:
        resp = await self._service.request(method, path, json=json)
        if resp.status_code >= 400:
            raise _error(resp)
        return resp

    async def store(
        self,
        tenant_id: str,
        connection_id: UUID | str,
        key: str,
        value: str,
        *,
        expected_version: int | None = None,
    ) -> StoredCredential:
        body: dict[str, Any] = {"value": value}
        if expected_version is not None:
            body["expected_version"] = expected_version
        data = (
            await self._call("PUT", self._path(tenant_id, connection_id, f"credentials/{quote(key)}"), body)
        ).json()
        return StoredCredential(data["key"], data["key_version"], data["version"])

    async def store_many(
        self, tenant_id: str, connection_id: UUID | str, values: dict[str, str]
    ) -> list[StoredCredential]:
        """Several values of one connection in one call: all stored or none."""
        data = (
            await self._call("PUT", self._path(tenant_id, connection_id, "credentials"), {"values": values})
        ).json()
        return [StoredCredential(c["key"], c["key_version"], c["version"]) for c in data["credentials"]]

    async def read_versioned(
        self, tenant_id: str, connection_id: UUID | str, key: str
    ) -> tuple[str, int] | None:
        """The value and its row version (for compare-and-swap writes), or None."""
        try:
            resp = await self._call("GET", self._path(tenant_id, connection_id, f"credentials/{quote(key)}"))
        except NotFound:
            return None
        data = resp.json()
        return str(data["value"]), int(data["version"])

    async def read(self, tenant_id: str, connection_id: UUID | str, key: str) -> str | None:
        try:
            resp = await self._call("GET", self._path(tenant_id, connection_id, f"credentials/{quote(key)}"))
        except NotFound:
            return None
        value: str = resp.json()["value"]
        return value

    async def delete(
        self, tenant_id: str, connection_id: UUID | str, key: str, *, expected_version: int | None = None
    ) -> bool:
        """False when there was nothing to delete. With ``expected_version``, only the value at
        that version goes: a newer one stays and the call raises 409 ``version_conflict``."""
        suffix = f"credentials/{quote(key)}"
        if expected_version is not None:
            suffix += f"?expected_version={int(expected_version)}"
        try:
            await self._call("DELETE", self._path(tenant_id, connection_id, suffix))
        except NotFound:
            return False
        return True

    async def list_keys(self, tenant_id: str, connection_id: UUID | str) -> list[str]:
        resp = await self._call("GET", self._path(tenant_id, connection_id, "credentials"))
        return [c["key"] for c in resp.json()["credentials"]]

    async def delete_all(self, tenant_id: str, connection_id: UUID | str) -> list[str]:
        resp = await self._call("DELETE", self._path(tenant_id, connection_id, "credentials"))
        deleted: list[str] = resp.json()["deleted"]
        return deleted

    async def generate(
        self,
        tenant_id: str,
        connection_id: UUID | str,
        key: str,
        *,
        n_bytes: int = 32,
        prefix: str = "",
        replace: bool = False,
    ) -> str:
        resp = await self._call(
            "POST",
            self._path(tenant_id, connection_id, f"credentials/{quote(key)}/generate"),
            {"bytes": n_bytes, "prefix": prefix, "replace": replace},
        )
        value: str = resp.json()["value"]
        return value

    async def sign_hmac(
        self,
        tenant_id: str,
        connection_id: UUID | str,
        key: str,
        message: bytes,
        *,
        secret_format: SecretFormatName = RAW,
        encoding: Literal["hex", "base64"] = "hex",
    ) -> str:
        """HMAC-SHA256 of ``message`` with the stored secret ``key`` (which never leaves the vault)."""
        resp = await self._call(
            "POST",
            self._path(tenant_id, connection_id, "hmac/sign"),
            {
                "key": key,
                "message_base64": base64.b64encode(message).decode("ascii"),
                "secret_format": secret_format,
                "encoding": encoding,
            },
        )
        return str(resp.json()["signature"])

    async def verify_hmac(
        self,
        tenant_id: str,
        connection_id: UUID | str,
        keys: list[str],
        message: bytes,
        signatures: list[str],
        *,
        encoding: str = "hex",
    ) -> str | None:
        """The candidate secret key that produced one of ``signatures``, or None."""
        resp = await self._call(
            "POST",
            self._path(tenant_id, connection_id, "hmac/verify"),
            {
                "keys": keys,
                "message_base64": base64.b64encode(message).decode(),
                "signatures": signatures,
                "encoding": encoding,
            },
        )
        data = resp.json()
        return data["key"] if data["valid"] else None


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
    return RewrapJob(
        UUID(body["id"]),
        body["status"],
        body["target_version"],
        body["total"],
        body["rewrapped"],
        body["skipped"],
        body["failed"],
        body.get("remaining"),
    )


def _version(body: dict[str, Any]) -> KeyVersion:
    return KeyVersion(body["version"], body["primary"], body["state"], body["in_keyring"], body["values"])


class VaultAdminClient(VaultClient):
    """Operator calls: key versions, rotation, retirement, rewrap jobs (policy: hubctl only)."""

    @classmethod
    def from_settings(cls, settings: HubSettings, **kwargs: Any) -> Self:
        return cls(settings.vault_url, ServiceTokenMinter.from_settings(settings), **kwargs)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()

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


def _error(resp: ServiceResponse) -> HubError:
    try:
        err = resp.json()["error"]
        code, message = str(err["code"]), str(err["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "vault_error", f"vault answered {resp.status_code}"
    if resp.status_code == 404:
        return NotFound(message, code=code)
    status = resp.status_code if resp.status_code < 500 else 502
    return HubError(f"vault: {message}", code=code, status_code=status)
