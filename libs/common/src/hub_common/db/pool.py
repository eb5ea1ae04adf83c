"""asyncpg pool factory: one schema per service on the search path, JSON codecs, clear errors."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from hub_common import jsonutil
from hub_common.errors import ConfigurationError

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_identifier(name: str) -> str:
    """Schema names are interpolated into SQL, so only plain lowercase identifiers pass."""
    if not _IDENT.match(name):
        raise ValueError(f"invalid schema name {name!r}")
    return name


def describe_dsn(dsn: str) -> str:
    """host:port/db of a DSN, never its password (for error messages and logs)."""
    parts = urlsplit(dsn)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or ''}"


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename,
            encoder=lambda v: jsonutil.dumps(v).decode(),
            decoder=jsonutil.loads,
            schema="pg_catalog",
        )


async def _no_reset(conn: asyncpg.Connection) -> None:
    return None


async def connect(dsn: str, *, schema: str | None = None, timeout_s: float = 10.0) -> asyncpg.Connection:
    """A single connection (LISTEN, migrations, advisory locks)."""
    settings = {"search_path": f"{check_identifier(schema)},public"} if schema else {}
    try:
        conn = await asyncpg.connect(dsn, timeout=timeout_s, server_settings=settings)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise _unreachable(dsn, exc) from None
    await _init_connection(conn)
    return conn


async def create_pool(
    dsn: str,
    *,
    schema: str,
    application_name: str,
    min_size: int = 1,
    max_size: int = 10,
    timeout_s: float = 10.0,
) -> asyncpg.Pool:
    settings: dict[str, Any] = {
        "search_path": f"{check_identifier(schema)},public",
        "application_name": application_name,
    }
    try:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout_s,
            server_settings=settings,
            init=_init_connection,
            # The hub keeps no session state on pooled connections (transaction-scoped locks
            # only), so the per-release reset round trip is skipped.
            reset=_no_reset,
        )
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise _unreachable(dsn, exc) from None
    assert pool is not None
    return pool


def _unreachable(dsn: str, exc: BaseException) -> ConfigurationError:
    reason = type(exc).__name__
    if isinstance(exc, asyncpg.InvalidPasswordError):
        reason = "authentication failed"
    elif isinstance(exc, asyncpg.InvalidCatalogNameError):
        reason = "database does not exist"
    elif isinstance(exc, OSError):
        reason = exc.strerror or reason
    return ConfigurationError(
        f"cannot connect to Postgres at {describe_dsn(dsn)} ({reason}); "
        "is the stack up? (hubctl stack up) or check HUB_POSTGRES_DSN"
    )
