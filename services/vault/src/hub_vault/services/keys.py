"""Key versions: registration, listing with counts, rotation and retirement."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from hub_common.db import Database
from hub_common.errors import ConfigurationError, HubError
from hub_vault.adapters.keyring_source import KeyringSource, LoadedKeyring
from hub_vault.domain.errors import (
    KeyringMismatch,
    KeyringReadOnly,
    KeyVersionInUse,
    KeyVersionIsPrimary,
    KeyVersionNotFound,
    RotationRaced,
)
from hub_vault.domain.keyring import Keyring, KeyVersion, generate_key_version, mismatched_versions
from hub_vault.domain.operations import Operation, Outcome
from hub_vault.repositories import credentials, key_versions
from hub_vault.services import audit_trail
from hub_vault.services.access import AccessControl
from hub_vault.services.call_context import CallContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyVersionInfo:
    version: int
    primary: bool
    in_keyring: bool
    retired: bool
    values: int
    created_at: datetime | None
    registered_at: datetime | None
    retired_at: datetime | None


@dataclass(frozen=True)
class RetireResult:
    version: int
    material_destroyed: bool


class KeyService:
    def __init__(self, db: Database, source: KeyringSource, access: AccessControl) -> None:
        self.db = db
        self.source = source
        self.access = access
        self._registered: set[int] = set()
        self._verified: Keyring | None = None  # the keyring last checked against the database

    async def register(self, conn: asyncpg.Connection, keyring: Keyring) -> dict[int, str]:
        """Record the keyring's versions; refuse a keyring whose key differs from the recorded one.
        Returns the database's key check per version; callers publish them with :meth:`_remember`
        only after their transaction committed (a writer must never rely on an uncommitted row)."""
        rows = await key_versions.register(conn, keyring)
        key_checks = {row.version: row.key_check for row in rows}
        mismatched = mismatched_versions(keyring, key_checks)
        if mismatched:
            raise KeyringMismatch({v: key_checks[v] for v in mismatched})
        return key_checks

    def _remember(self, keyring: Keyring, key_checks: dict[int, str]) -> None:
        self._registered = set(key_checks)
        self._verified = keyring
        self.source.record(key_checks)  # every later reload is checked against them

    def forget(self, version: int) -> None:
        """A write found no row for ``version``: register again before the next write."""
        self._registered = self._registered - {version}

    async def sync(self) -> None:
        """At startup: register versions, and fail fast on a foreign keyring."""
        loaded = self.source.current()
        try:
            async with self.db.transaction() as conn:
                key_checks = await self.register(conn, loaded.keyring)
        except asyncpg.UndefinedTableError:
            raise ConfigurationError("the vault schema is not migrated; run `hub-vault migrate`") from None
        self._remember(loaded.keyring, key_checks)
        missing = [v for v, n in (await self._counts()).items() if n and loaded.keyring.get(v) is None]
        if missing:
            log.error(
                "stored values use key versions missing from the keyring", extra={"key_versions": missing}
            )

    async def writable(self) -> LoadedKeyring:
        """The current keyring, with its primary version registered (writes reference it).

        A reloaded keyring is checked against the database as at startup before anything is
        written with it: it may carry versions another replica registered since we last looked."""
        loaded = self.source.current()
        if loaded.keyring is not self._verified or loaded.keyring.primary_version not in self._registered:
            try:
                async with self.db.transaction() as conn:
                    key_checks = await self.register(conn, loaded.keyring)
            except KeyringMismatch as exc:
                # Nothing is written with it. The database's checks now win over the keys in use,
                # so the next reload lets the right file back in (and refuses this one).
                self.source.record(exc.key_checks)
                raise
            self._remember(loaded.keyring, key_checks)
        return loaded

    async def _counts(self) -> dict[int, int]:
        async with self.db.connection() as conn:
            return await credentials.counts_by_key_version(conn)

    async def list_versions(self, ctx: CallContext) -> list[KeyVersionInfo]:
        await self.access.require(ctx, Operation.KEYS_LIST)
        keyring = self.source.current().keyring
        async with self.db.transaction() as conn:
            key_checks = await self.register(conn, keyring)
            rows = {r.version: r for r in await key_versions.all_versions(conn)}
            counts = await credentials.counts_by_key_version(conn)
            await audit_trail.record(conn, ctx, Operation.KEYS_LIST, Outcome.OK)
        self._remember(keyring, key_checks)
        listed = sorted(set(rows) | set(keyring.versions))
        return [
            KeyVersionInfo(
                version=v,
                primary=v == keyring.primary_version,
                in_keyring=v in keyring.versions,
                retired=rows[v].retired_at is not None if v in rows else False,
                values=counts.get(v, 0),
                created_at=rows[v].created_at if v in rows else keyring.versions[v].created_at,
                registered_at=rows[v].registered_at if v in rows else None,
                retired_at=rows[v].retired_at if v in rows else None,
            )
            for v in listed
        ]

    async def rotate(self, ctx: CallContext) -> KeyVersionInfo:
        """Record first, then change the file: the audit row and the new version's row (its key
        check) commit before the keyring file is touched, so a rotation can never take effect
        unrecorded. The version is the next above every one the file or the database knows, so
        a reservation left by a rotation that died before its file write is skipped, and two
        replicas rotating at once meet at the reservation (one gets 409 ``rotation_conflict``)."""
        await self.access.require(ctx, Operation.KEYS_ROTATE)
        current = self.source.refresh().keyring
        try:
            if not self.source.writable:
                raise KeyringReadOnly
            async with self.db.transaction() as conn:
                highest = await key_versions.highest(conn)
                new = generate_key_version(max(max(current.versions), highest or 0) + 1)
                await audit_trail.record(
                    conn, ctx, Operation.KEYS_ROTATE, Outcome.OK, key_version=new.version
                )
                if not await key_versions.reserve(conn, new):
                    raise RotationRaced(new.version)
        except (KeyringReadOnly, RotationRaced):
            async with self.db.transaction() as conn:
                await audit_trail.record(conn, ctx, Operation.KEYS_ROTATE, Outcome.CONFLICT)
            raise

        def adopt(keyring: Keyring) -> Keyring:
            if max(keyring.versions) >= new.version:
                raise RotationRaced(new.version)  # the file moved on meanwhile
            return Keyring(new.version, {**keyring.versions, new.version: new})

        try:
            loaded = self.source.update(adopt)
        except (HubError, KeyringMismatch) as exc:  # read-only, raced, a foreign key: before the write
            await self._rotation_not_applied(ctx, new, exc)
            raise
        except Exception as exc:
            try:
                applied = self._file_has(new)  # the rename may have happened before the error
            except Exception as unreadable:
                await self._rotation_unknown(ctx, new, exc, unreadable)
                # Not chained: a decode error's text would quote a byte of the key file.
                raise exc from None
            if applied is None:
                await self._rotation_not_applied(ctx, new, exc)
                raise
            log.warning("the keyring file changed despite an error", extra={"error": type(exc).__name__})
            loaded = applied
        async with self.db.transaction() as conn:
            key_checks = await self.register(conn, loaded.keyring)
        self._remember(loaded.keyring, key_checks)
        log.info("key rotated", extra={"key_version": new.version, "caller": ctx.caller})
        return KeyVersionInfo(new.version, True, True, False, 0, new.created_at, None, None)

    def _file_has(self, new: KeyVersion) -> LoadedKeyring | None:
        """The keyring as the file now holds it, adopted, if that includes ``new`` (this very
        key); None if it does not; raises when the file cannot be read (then nobody knows)."""
        key = self.source.read_file().get(new.version)
        if key is None or key.key_check != new.key_check:
            return None
        loaded = self.source.refresh(force=True)
        if loaded.keyring.get(new.version) is None:  # readable a moment ago, not now
            raise OSError("the keyring file could not be read again")
        return loaded

    async def _rotation_unknown(
        self, ctx: CallContext, new: KeyVersion, exc: Exception, unreadable: Exception
    ) -> None:
        """The write failed and the file could not be read back: it may hold the new primary.
        The reservation stays live, so a file that does hold it still matches a usable version
        (retiring it would refuse every write under that primary); the audit says so."""
        log.error(
            "rotation may or may not be in the keyring file",
            extra={
                "key_version": new.version,
                "error": type(exc).__name__,
                "reread_error": type(unreadable).__name__,
            },
        )
        try:
            async with self.db.transaction() as conn:
                await audit_trail.record(
                    conn,
                    ctx,
                    Operation.KEYS_ROTATE,
                    Outcome.ERROR,
                    key_version=new.version,
                    details={"reason": type(exc).__name__, "applied": "unknown"},
                )
        except Exception as cleanup:
            log.error(
                "rotation of unknown outcome not recorded as such",
                extra={"key_version": new.version, "error": type(cleanup).__name__},
            )

    async def _rotation_not_applied(self, ctx: CallContext, new: KeyVersion, exc: Exception) -> None:
        """The file was not changed after the rotation was recorded: say so in the audit, and
        retire the unused reservation (best effort; a later rotation skips its number anyway)."""
        try:
            async with self.db.transaction() as conn:
                await key_versions.abandon_reservation(conn, new)
                await audit_trail.record(
                    conn,
                    ctx,
                    Operation.KEYS_ROTATE,
                    Outcome.CONFLICT if isinstance(exc, HubError) else Outcome.ERROR,
                    key_version=new.version,
                    details={"reason": type(exc).__name__},
                )
        except Exception as cleanup:  # the first error is what the caller needs to see
            log.error(
                "rotation not applied and not recorded as such",
                extra={"key_version": new.version, "error": type(cleanup).__name__},
            )

    async def retire(self, ctx: CallContext, version: int) -> RetireResult:
        await self.access.require(ctx, Operation.KEYS_RETIRE)
        keyring = self.source.refresh().keyring
        error: HubError | None = None
        async with self.db.transaction() as conn:
            key_checks = await self.register(conn, keyring)
            # FOR UPDATE waits for writers holding FOR SHARE on this version (and vice versa),
            # so no value can slip in under a version while it is being retired.
            row = await key_versions.get(conn, version, for_update=True)
            if row is None:
                error = KeyVersionNotFound(version)
            elif version == keyring.primary_version:
                error = KeyVersionIsPrimary(version)
            elif row.retired_at is None:
                in_use = await credentials.count_with_key_version(conn, version)
                if in_use:
                    error = KeyVersionInUse(version, in_use)
                else:
                    await key_versions.retire(conn, version, ctx.caller)
            outcome = (
                Outcome.OK
                if error is None
                else (Outcome.NOT_FOUND if isinstance(error, KeyVersionNotFound) else Outcome.CONFLICT)
            )
            await audit_trail.record(conn, ctx, Operation.KEYS_RETIRE, outcome, key_version=version)
        self._remember(keyring, key_checks)
        if error is not None:
            raise error
        destroyed = False
        if self.source.writable and keyring.get(version) is not None:
            # Retired means gone: drop the material so it can never decrypt anything again.
            self.source.update(lambda k: k.without(version) if k.get(version) else k)
            destroyed = True
        log.info("key version retired", extra={"key_version": version, "material_destroyed": destroyed})
        return RetireResult(version, destroyed)
