"""Throw-away databases on a Postgres server, for tests and benchmarks.

Suites that run their own service processes each get a database of their own: a vault
registers its keyring in the database it serves, so two vaults with different keyrings must
never share one.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg


async def create_database(server_dsn: str, prefix: str = "hub_test") -> str:
    """Create an empty database on the server of ``server_dsn``; returns its DSN."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return urlunsplit(urlsplit(server_dsn)._replace(path=f"/{name}"))


async def drop_database(server_dsn: str, dsn: str) -> None:
    name = urlsplit(dsn).path.lstrip("/")
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def temporary_database(server_dsn: str, prefix: str = "hub_test") -> AsyncIterator[str]:
    dsn = await create_database(server_dsn, prefix)
    try:
        yield dsn
    finally:
        await drop_database(server_dsn, dsn)
