"""Store, read, delete and list credentials; generate random secrets."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

import asyncpg

from hub_common.db import Database
from hub_common.db.outbox import OutboxRow, write_event
from hub_common.errors import HubError
from hub_common.events.models import CredentialChanged
from hub_vault.adapters.keyring_source import KeyringSource
from hub_vault.adapters.outbox_notify import NotifyDebouncer
from hub_vault.config import SCHEMA
from hub_vault.domain.errors import (
    CredentialExists,
    CredentialNotFound,
    DecryptionFailed,
    KeyVersionUnavailable,
    KeyVersionUnregistered,
    PrimaryRetired,
    ValueTooLarge,
    VersionConflict,
)
from hub_vault.domain.names import MAX_VALUE_BYTES, Owner
from hub_vault.domain.operations import Operation, Outcome
from hub_vault.repositories import audited, credentials, key_versions
from hub_vault.repositories.credentials import CredentialMeta as CredentialMeta  # the routes' type
from hub_vault.repositories.credentials import WriteResult
from hub_vault.services import audit_trail, sealing
from hub_vault.services.access import AccessControl
from hub_vault.services.call_context import CallContext
from hub_vault.services.keys import KeyService

EVENT_SOURCE = "/integration-hub/vault"


@dataclass(frozen=True, slots=True)
class Stored:
    owner: Owner
    key_version: int
    version: int
    created: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Revealed:
    owner: Owner
    value: str
    key_version: int
    version: int


class SecretEncoding(StrEnum):
    BASE64URL = "base64url"
    BASE64 = "base64"
    HEX = "hex"


def generate_secret(n_bytes: int, encoding: SecretEncoding, prefix: str = "") -> str:
    raw = os.urandom(n_bytes)
    if encoding is SecretEncoding.HEX:
        text = raw.hex()
    elif encoding is SecretEncoding.BASE64:
        text = base64.b64encode(raw).decode("ascii")
    else:
        text = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    return prefix + text


def outcome_of(error: HubError | None) -> Outcome:
    if error is None:
        return Outcome.OK
    if isinstance(error, CredentialNotFound):
        return Outcome.NOT_FOUND
    if isinstance(error, CredentialExists | VersionConflict):
        return Outcome.CONFLICT
    if isinstance(error, DecryptionFailed):
        return Outcome.DECRYPTION_FAILED
    return Outcome.ERROR


class CredentialService:
    def __init__(
        self,
        db: Database,
        source: KeyringSource,
        keys: KeyService,
        access: AccessControl,
        notifier: NotifyDebouncer,
    ) -> None:
        self.db = db
        self.source = source
        self.keys = keys
        self.access = access
        self.notifier = notifier

    async def store(
        self,
        ctx: CallContext,
        owner: Owner,
        value: str,
        expected_version: int | None = None,
        operation: Operation = Operation.CREDENTIAL_STORE,
    ) -> Stored:
        """Insert or replace. ``expected_version``: None = always, 0 = only if absent,
        n = only if the stored row is at version n (optimistic concurrency for callers)."""
        await self.access.require(
            ctx,
            operation,
            tenant_id=owner.tenant_id,
            connection_id=owner.connection_id,
            keys=(owner.credential_key,),
        )
        plaintext = value.encode("utf-8")
        if len(plaintext) > MAX_VALUE_BYTES:
            async with self.db.transaction() as conn:
                await audit_trail.record(
                    conn, ctx, operation, Outcome.INVALID, owner=owner, details={"reason": "too_large"}
                )
            raise ValueTooLarge(MAX_VALUE_BYTES)
        fields = audit_trail.fields(ctx, operation)
        for attempt in range(2):
            loaded = await self.keys.writable()
            sealed = sealing.seal(loaded, owner, plaintext)
            event = self._event(owner, "stored", sealed.key_version)
            channel = self.notifier.claim()
            async with self.db.connection() as conn:
                result = await audited.write(conn, owner, sealed, expected_version, fields, event, channel)
                if result is not None:
                    if channel is None:
                        self.notifier.committed_without_notify()
                    audit_trail.count(ctx, operation, Outcome.OK)
                    return self._stored(owner, sealed.key_version, result)
                error, retry = await self._why_not_written(conn, sealed.key_version, expected_version)
            audit_trail.count(ctx, operation, outcome_of(error))
            if not (retry and attempt == 0):
                raise error
        raise AssertionError("unreachable")

    async def store_many(
        self, ctx: CallContext, tenant_id: str, connection_id: UUID, values: dict[str, str]
    ) -> list[Stored]:
        """Insert or replace several values of one connection at once: all or none, one statement,
        audited and announced per key as ``store`` would (oauth's token sets: one call, not N)."""
        operation = Operation.CREDENTIAL_STORE
        owners = {key: Owner(tenant_id, connection_id, key) for key in values}
        await self.access.require(
            ctx, operation, tenant_id=tenant_id, connection_id=connection_id, keys=tuple(owners)
        )
        plaintexts = {key: value.encode("utf-8") for key, value in values.items()}
        too_large = [key for key, plaintext in plaintexts.items() if len(plaintext) > MAX_VALUE_BYTES]
        if too_large:
            async with self.db.transaction() as conn:
                for key in too_large:
                    await audit_trail.record(
                        conn,
                        ctx,
                        operation,
                        Outcome.INVALID,
                        owner=owners[key],
                        details={"reason": "too_large"},
                    )
            raise ValueTooLarge(MAX_VALUE_BYTES)
        fields = audit_trail.fields(ctx, operation)
        for attempt in range(2):
            loaded = await self.keys.writable()
            sealed = {key: sealing.seal(loaded, owners[key], plaintexts[key]) for key in owners}
            key_version = loaded.primary.version  # every value sealed under it
            events = {key: self._event(owners[key], "stored", key_version) for key in owners}
            channel = self.notifier.claim()
            async with self.db.connection() as conn:
                results = await audited.write_many(
                    conn, tenant_id, connection_id, sealed, fields, events, channel
                )
                if results is not None:
                    if channel is None:
                        self.notifier.committed_without_notify()
                    audit_trail.count(ctx, operation, Outcome.OK)
                    return [self._stored(owners[key], key_version, results[key]) for key in owners]
                error, retry = await self._why_not_written(conn, key_version, None)
            audit_trail.count(ctx, operation, outcome_of(error))
            if not (retry and attempt == 0):
                raise error
        raise AssertionError("unreachable")

    async def _why_not_written(
        self, conn: asyncpg.Connection, key_version: int, expected_version: int | None
    ) -> tuple[HubError, bool]:
        """The error to report, and whether one more attempt can succeed."""
        row = await key_versions.get(conn, key_version)
        if row is None:
            self.keys.forget(key_version)  # not registered (yet): register, then try again
            return KeyVersionUnregistered(key_version), True
        if row.retired_at is not None:
            self.source.refresh(force=True)  # another replica rotated and retired meanwhile
            return PrimaryRetired(key_version), True
        if expected_version == 0:
            return CredentialExists(), False
        return VersionConflict(), False

    @staticmethod
    def _stored(owner: Owner, key_version: int, result: WriteResult) -> Stored:
        return Stored(
            owner, key_version, result.version, result.created, result.created_at, result.updated_at
        )

    async def generate(
        self,
        ctx: CallContext,
        owner: Owner,
        *,
        n_bytes: int,
        encoding: SecretEncoding,
        prefix: str,
        replace: bool,
    ) -> tuple[Stored, str]:
        value = generate_secret(n_bytes, encoding, prefix)
        stored = await self.store(ctx, owner, value, None if replace else 0, Operation.SECRET_GENERATE)
        return stored, value

    async def read(self, ctx: CallContext, owner: Owner) -> Revealed:
        await self.access.require(
            ctx,
            Operation.CREDENTIAL_READ,
            tenant_id=owner.tenant_id,
            connection_id=owner.connection_id,
            keys=(owner.credential_key,),
        )
        async with self.db.connection() as conn:
            stored, audit_id = await audited.read(
                conn, owner, audit_trail.fields(ctx, Operation.CREDENTIAL_READ)
            )
            if stored is None:
                audit_trail.count(ctx, Operation.CREDENTIAL_READ, Outcome.NOT_FOUND)
                raise CredentialNotFound
            try:
                value = sealing.open_value(self.source, stored).decode("utf-8")
            except (DecryptionFailed, KeyVersionUnavailable) as exc:
                outcome = outcome_of(exc)
                await audited.amend_outcome(conn, audit_id, outcome.value)
                audit_trail.count(ctx, Operation.CREDENTIAL_READ, outcome)
                raise
        audit_trail.count(ctx, Operation.CREDENTIAL_READ, Outcome.OK)
        return Revealed(owner, value, stored.sealed.key_version, stored.version)

    async def delete(self, ctx: CallContext, owner: Owner, expected_version: int | None = None) -> None:
        """Delete; with ``expected_version``, only if the stored row is still at that version (a
        caller cleaning up what it wrote never removes what someone wrote after it)."""
        await self.access.require(
            ctx,
            Operation.CREDENTIAL_DELETE,
            tenant_id=owner.tenant_id,
            connection_id=owner.connection_id,
            keys=(owner.credential_key,),
        )
        channel = self.notifier.claim()
        async with self.db.connection() as conn:
            deleted = await audited.delete(
                conn,
                owner,
                audit_trail.fields(ctx, Operation.CREDENTIAL_DELETE),
                self._event(owner, "deleted", None),
                channel,
                expected_version,
            )
        if deleted.key_version is not None and channel is None:
            self.notifier.committed_without_notify()
        if deleted.key_version is not None:
            audit_trail.count(ctx, Operation.CREDENTIAL_DELETE, Outcome.OK)
        elif deleted.present:
            audit_trail.count(ctx, Operation.CREDENTIAL_DELETE, Outcome.CONFLICT)
            raise VersionConflict
        else:
            audit_trail.count(ctx, Operation.CREDENTIAL_DELETE, Outcome.NOT_FOUND)
            raise CredentialNotFound

    async def list_keys(self, ctx: CallContext, tenant_id: str, connection_id: UUID) -> list[CredentialMeta]:
        await self.access.require(
            ctx, Operation.CREDENTIAL_LIST, tenant_id=tenant_id, connection_id=connection_id
        )
        async with self.db.transaction() as conn:
            metas = await credentials.list_keys(conn, tenant_id, connection_id)
            await audit_trail.record(
                conn,
                ctx,
                Operation.CREDENTIAL_LIST,
                Outcome.OK,
                tenant_id=tenant_id,
                connection_id=connection_id,
                details={"count": len(metas)},
            )
        return metas

    async def delete_all(self, ctx: CallContext, tenant_id: str, connection_id: UUID) -> list[str]:
        await self.access.require(
            ctx, Operation.CREDENTIAL_DELETE_ALL, tenant_id=tenant_id, connection_id=connection_id
        )
        async with self.db.transaction() as conn:
            deleted = await credentials.delete_all(conn, tenant_id, connection_id)
            # One row per key it removed, as single deletes and store_many write: a search by key
            # finds this too. With nothing to remove, one row says the call happened.
            keys: list[str | None] = [*deleted] or [None]
            for key in keys:
                await audit_trail.record(
                    conn,
                    ctx,
                    Operation.CREDENTIAL_DELETE_ALL,
                    Outcome.OK,
                    tenant_id=tenant_id,
                    connection_id=connection_id,
                    credential_key=key,
                    details={"deleted": len(deleted)},
                )
            if deleted:
                await write_event(
                    conn,
                    CredentialChanged(
                        tenant_id=tenant_id,
                        connection_id=connection_id,
                        change="deleted_all",
                    ),
                    source=EVENT_SOURCE,
                    schema=SCHEMA,
                )
        return deleted

    @staticmethod
    def _event(owner: Owner, change: Literal["stored", "deleted"], key_version: int | None) -> OutboxRow:
        return OutboxRow.of(
            CredentialChanged(
                tenant_id=owner.tenant_id,
                connection_id=owner.connection_id,
                credential_key=owner.credential_key,
                change=change,
                key_version=key_version,
            ),
            EVENT_SOURCE,
        )
