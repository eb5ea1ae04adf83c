"""Unit fixtures."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from hub_common.db import Database


class _Connection:
    """Enough of an asyncpg connection for a unit of work to open; nothing to query: a test
    replaces the repository functions its code reaches (one it forgot fails on this object)."""

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        yield


class _Pool:
    def acquire(self) -> contextlib.AbstractAsyncContextManager[_Connection]:
        return contextlib.nullcontext(_Connection())


@pytest.fixture
def db() -> Database:
    """The services' unit of work over no server."""
    return Database(_Pool())  # type: ignore[arg-type]
