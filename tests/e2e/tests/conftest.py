"""Each e2e module runs its own service processes against a database of its own."""

import pytest


@pytest.fixture(scope="module")
async def module_dsn(new_database) -> str:
    return await new_database("e2e")
