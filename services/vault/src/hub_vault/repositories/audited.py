"""Hot-path statements that touch a credential, append its audit row and (for changes) stage
its ``credential.changed`` event in the outbox, all in ONE statement.

A single statement is a single transaction, so "no audit row, no operation" holds by
construction, and a request costs one round trip instead of six (BEGIN, statement, audit,
outbox insert, NOTIFY, COMMIT) — the difference between meeting the P99 target and not. Any
database error here therefore means: nothing happened, nothing was audited, nothing was sent.

The outbox row is exactly what ``hub_common.db.outbox.write_event`` inserts (same ``encode``,
same columns, same NOTIFY channel), so the common ``OutboxRelay`` publishes it unchanged. The
NOTIFY itself is optional per statement (``notify_channel`` None skips it): see
``adapters.outbox_notify``.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from hub_common import jsonutil
from hub_common.db.outbox import OutboxRow
from hub_vault.domain.crypto import Sealed
from hub_vault.domain.errors import AuditUnavailable
from hub_vault.domain.names import Owner
from hub_vault.repositories.audit import AuditFields, log_failure
from hub_vault.repositories.credentials import StoredCredential, WriteResult, stored_from_row


@dataclass(frozen=True, slots=True)
class Deleted:
    key_version: int | None  # of the value deleted; None when nothing was
    present: bool  # for a delete at a version that did not happen: a row was there (409, not 404)


_READ = """
WITH c AS (
    SELECT id, tenant_id, connection_id, credential_key, value_encrypted, value_iv,
           dek_encrypted, dek_iv, key_version, row_version
    FROM credentials WHERE tenant_id = $1 AND connection_id = $2 AND credential_key = $3
), a AS (
    INSERT INTO audit (request_id, caller, operation, tenant_id, connection_id, credential_key,
                       outcome, key_version)
    SELECT $4, $5, $6, $1, $2, $3, CASE WHEN c.id IS NULL THEN 'not_found' ELSE 'ok' END,
           c.key_version
    FROM (SELECT 1) AS one LEFT JOIN c ON true
    RETURNING id
)
SELECT c.*, a.id AS audit_id FROM a LEFT JOIN c ON true
"""


async def read(
    conn: asyncpg.Connection, owner: Owner, audit: AuditFields
) -> tuple[StoredCredential | None, int]:
    """The row (or None) and the id of the audit row written with it."""
    try:
        row = await conn.fetchrow(
            _READ,
            owner.tenant_id,
            owner.connection_id,
            owner.credential_key,
            audit.request_id,
            audit.caller,
            audit.operation,
        )
    except (asyncpg.PostgresError, OSError) as exc:
        log_failure(audit.operation, exc)
        raise AuditUnavailable from None
    assert row is not None  # the audit CTE always yields one row
    return (stored_from_row(row) if row["id"] is not None else None), row["audit_id"]


async def amend_outcome(conn: asyncpg.Connection, audit_id: int, outcome: str) -> None:
    """A read fetched a row that then failed to decrypt: the audit row must say so."""
    try:
        await conn.execute("UPDATE audit SET outcome = $2 WHERE id = $1", audit_id, outcome)
    except (asyncpg.PostgresError, OSError) as exc:
        log_failure("audit.amend", exc)
        raise AuditUnavailable from None


# Shared by both writes: the audit row (outcome from what the write CTE did), the outbox row
# for credential.changed, and the NOTIFY, all in the same single statement as the write.
# Parameters $8 (key version) and $10-$18 are the same in both.
_AUDIT_OUTBOX_NOTIFY = """), a AS (
    INSERT INTO audit (request_id, caller, operation, tenant_id, connection_id, credential_key,
                       outcome, key_version)
    SELECT $10, $11, $12, $1, $2, $3,
           CASE WHEN EXISTS (SELECT 1 FROM w) THEN 'ok'
                WHEN NOT EXISTS (SELECT 1 FROM kv) THEN 'error'
                ELSE 'conflict' END,
           $8
    RETURNING id
), o AS (
    INSERT INTO outbox (event_id, topic, key, value, headers)
    SELECT $13::uuid, $14::text, $15::bytea, $16::bytea, $17::jsonb WHERE EXISTS (SELECT 1 FROM w)
    RETURNING id
)
SELECT w.*, a.id AS audit_id,
       CASE WHEN $18::text IS NOT NULL AND EXISTS (SELECT 1 FROM o) THEN pg_notify($18, '') END
           AS notified
FROM a LEFT JOIN w ON true
"""

_WRITE = (
    """
WITH kv AS (
    -- FOR SHARE: a concurrent retire of this version waits for us, or we see it retired.
    SELECT version FROM key_versions WHERE version = $8 AND retired_at IS NULL FOR SHARE
), w AS (
    INSERT INTO credentials (tenant_id, connection_id, credential_key, value_encrypted, value_iv,
                             dek_encrypted, dek_iv, key_version)
    SELECT $1, $2, $3, $4, $5, $6, $7, kv.version FROM kv
    WHERE $9::bigint IS NULL OR $9 = 0
    ON CONFLICT (tenant_id, connection_id, credential_key) DO UPDATE SET
        value_encrypted = EXCLUDED.value_encrypted, value_iv = EXCLUDED.value_iv,
        dek_encrypted = EXCLUDED.dek_encrypted, dek_iv = EXCLUDED.dek_iv,
        key_version = EXCLUDED.key_version, row_version = credentials.row_version + 1,
        updated_at = now()
    WHERE $9::bigint IS NULL OR credentials.row_version = $9
    RETURNING row_version, created_at, updated_at, (xmax = 0) AS created
"""  # noqa: S608 - constant SQL only
    + _AUDIT_OUTBOX_NOTIFY
)

_UPDATE_AT_VERSION = (
    """
WITH kv AS (
    SELECT version FROM key_versions WHERE version = $8 AND retired_at IS NULL FOR SHARE
), w AS (
    UPDATE credentials c SET
        value_encrypted = $4, value_iv = $5, dek_encrypted = $6, dek_iv = $7,
        key_version = kv.version, row_version = c.row_version + 1, updated_at = now()
    FROM kv
    WHERE c.tenant_id = $1 AND c.connection_id = $2 AND c.credential_key = $3
      AND c.row_version = $9
    RETURNING c.row_version, c.created_at, c.updated_at, false AS created
"""  # noqa: S608 - constant SQL only
    + _AUDIT_OUTBOX_NOTIFY
)


async def write(
    conn: asyncpg.Connection,
    owner: Owner,
    sealed: Sealed,
    expected_version: int | None,
    audit: AuditFields,
    event: OutboxRow,
    notify_channel: str | None,
) -> WriteResult | None:
    """Insert or replace, audited. ``expected_version``: None = always, 0 = only if absent,
    n = only if the row is at version n. None back: the condition failed or the key version is
    not writable (retired); the audit row already says which ('conflict' or 'error'), and the
    event was not staged."""
    sql = _UPDATE_AT_VERSION if expected_version else _WRITE
    try:
        row = await conn.fetchrow(
            sql,
            owner.tenant_id,
            owner.connection_id,
            owner.credential_key,
            sealed.value_encrypted,
            sealed.value_iv,
            sealed.dek_encrypted,
            sealed.dek_iv,
            sealed.key_version,
            expected_version,
            audit.request_id,
            audit.caller,
            audit.operation,
            event.event_id,
            event.topic,
            event.key,
            event.value,
            event.headers,
            notify_channel,
        )
    except (asyncpg.PostgresError, OSError) as exc:
        log_failure(audit.operation, exc)
        raise AuditUnavailable from None
    assert row is not None
    if row["row_version"] is None:
        return None
    return WriteResult(row["row_version"], row["created"], row["created_at"], row["updated_at"])


_DELETE = """
WITH d AS (
    DELETE FROM credentials WHERE tenant_id = $1 AND connection_id = $2 AND credential_key = $3
                              AND ($13::bigint IS NULL OR row_version = $13)
    RETURNING key_version
), kept AS (
    -- Only for a delete at a version. The statement's snapshot: with d empty, the row was at
    -- another version, or it changed or went meanwhile (then too the caller keeps its hands off).
    -- An unconditional delete that found nothing (a concurrent one was first) stays not_found.
    SELECT 1 FROM credentials WHERE tenant_id = $1 AND connection_id = $2 AND credential_key = $3
                                AND $13::bigint IS NOT NULL
), a AS (
    INSERT INTO audit (request_id, caller, operation, tenant_id, connection_id, credential_key,
                       outcome, key_version)
    SELECT $4, $5, $6, $1, $2, $3,
           CASE WHEN EXISTS (SELECT 1 FROM d) THEN 'ok'
                WHEN EXISTS (SELECT 1 FROM kept) THEN 'conflict'
                ELSE 'not_found' END,
           (SELECT key_version FROM d)
    RETURNING id
), o AS (
    INSERT INTO outbox (event_id, topic, key, value, headers)
    SELECT $7::uuid, $8::text, $9::bytea, $10::bytea, $11::jsonb WHERE EXISTS (SELECT 1 FROM d)
    RETURNING id
)
SELECT (SELECT key_version FROM d) AS key_version, EXISTS (SELECT 1 FROM kept) AS present,
       CASE WHEN $12::text IS NOT NULL AND EXISTS (SELECT 1 FROM o) THEN pg_notify($12, '') END
           AS notified
FROM a
"""


async def delete(
    conn: asyncpg.Connection,
    owner: Owner,
    audit: AuditFields,
    event: OutboxRow,
    notify_channel: str | None,
    expected_version: int | None = None,
) -> Deleted:
    """Delete (only at ``expected_version`` when given), audited, event staged only when a row
    went."""
    try:
        row = await conn.fetchrow(
            _DELETE,
            owner.tenant_id,
            owner.connection_id,
            owner.credential_key,
            audit.request_id,
            audit.caller,
            audit.operation,
            event.event_id,
            event.topic,
            event.key,
            event.value,
            event.headers,
            notify_channel,
            expected_version,
        )
    except (asyncpg.PostgresError, OSError) as exc:
        log_failure(audit.operation, exc)
        raise AuditUnavailable from None
    assert row is not None
    return Deleted(row["key_version"], bool(row["present"]))


# Several values of one connection in one statement (oauth's token sets): unconditional writes,
# all or none. One audit row and one staged event per key, exactly as if written one by one.
_WRITE_MANY = """
WITH kv AS (
    SELECT version FROM key_versions WHERE version = $3 AND retired_at IS NULL FOR SHARE
), i AS (
    SELECT * FROM unnest($4::text[], $5::bytea[], $6::bytea[], $7::bytea[], $8::bytea[],
                         $12::uuid[], $13::bytea[], $14::bytea[], $15::text[])
        AS t(credential_key, value_encrypted, value_iv, dek_encrypted, dek_iv,
             event_id, event_key, event_value, event_headers)
), w AS (
    INSERT INTO credentials (tenant_id, connection_id, credential_key, value_encrypted, value_iv,
                             dek_encrypted, dek_iv, key_version)
    SELECT $1, $2, i.credential_key, i.value_encrypted, i.value_iv, i.dek_encrypted, i.dek_iv,
           kv.version
    FROM i, kv
    ORDER BY i.credential_key COLLATE "C"  -- row locks in the order delete-all takes them
    ON CONFLICT (tenant_id, connection_id, credential_key) DO UPDATE SET
        value_encrypted = EXCLUDED.value_encrypted, value_iv = EXCLUDED.value_iv,
        dek_encrypted = EXCLUDED.dek_encrypted, dek_iv = EXCLUDED.dek_iv,
        key_version = EXCLUDED.key_version, row_version = credentials.row_version + 1,
        updated_at = now()
    RETURNING credential_key, row_version, created_at, updated_at, (xmax = 0) AS created
), a AS (
    INSERT INTO audit (request_id, caller, operation, tenant_id, connection_id, credential_key,
                       outcome, key_version)
    SELECT $9, $10, $11, $1, $2, i.credential_key,
           CASE WHEN EXISTS (SELECT 1 FROM kv) THEN 'ok' ELSE 'error' END, $3
    FROM i
    RETURNING id
), o AS (
    INSERT INTO outbox (event_id, topic, key, value, headers)
    SELECT i.event_id, $16::text, i.event_key, i.event_value, i.event_headers::jsonb
    FROM i WHERE EXISTS (SELECT 1 FROM kv)
    RETURNING id
)
SELECT w.*, (SELECT count(*) FROM a) AS audited,
       CASE WHEN $17::text IS NOT NULL AND EXISTS (SELECT 1 FROM o) THEN pg_notify($17, '') END
           AS notified
FROM (SELECT 1) AS one LEFT JOIN w ON true
"""


async def write_many(
    conn: asyncpg.Connection,
    tenant_id: str,
    connection_id: UUID,
    sealed: dict[str, Sealed],
    audit: AuditFields,
    events: dict[str, OutboxRow],
    notify_channel: str | None,
) -> dict[str, WriteResult] | None:
    """Insert or replace every value (all one key version), audited, one event each. None back:
    the key version is not writable (retired); the audit rows say 'error', nothing was staged."""
    keys = sorted(sealed)  # row locks in key order, as delete-all takes them: no deadlock
    values = [sealed[k] for k in keys]
    staged = [events[k] for k in keys]
    topics = {e.topic for e in staged}
    if len({s.key_version for s in values}) != 1 or len(topics) != 1:
        raise ValueError("one key version and one topic per batch")
    try:
        rows = await conn.fetch(
            _WRITE_MANY,
            tenant_id,
            connection_id,
            values[0].key_version,
            keys,
            [s.value_encrypted for s in values],
            [s.value_iv for s in values],
            [s.dek_encrypted for s in values],
            [s.dek_iv for s in values],
            audit.request_id,
            audit.caller,
            audit.operation,
            [e.event_id for e in staged],
            [e.key for e in staged],
            [e.value for e in staged],
            [jsonutil.dumps(e.headers).decode() for e in staged],  # nested lists: not a jsonb[]
            topics.pop(),
            notify_channel,
        )
    except (asyncpg.PostgresError, OSError) as exc:
        log_failure(audit.operation, exc)
        raise AuditUnavailable from None
    written = {
        r["credential_key"]: WriteResult(r["row_version"], r["created"], r["created_at"], r["updated_at"])
        for r in rows
        if r["credential_key"] is not None
    }
    return written if len(written) == len(keys) else None
