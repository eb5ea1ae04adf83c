"""A fresh schema with the common tables (outbox, processed_events), and a pool on it."""

import pytest

from hub_common.db import common_migrations, create_pool, migrate


@pytest.fixture
async def schema(pg_dsn, unique_name):
    name = unique_name("outbox")
    await migrate(pg_dsn, name, [common_migrations()])
    return name


@pytest.fixture
async def pool(pg_dsn, schema):
    p = await create_pool(pg_dsn, schema=schema, application_name="test-outbox")
    yield p
    await p.close()
