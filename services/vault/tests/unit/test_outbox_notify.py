import asyncio

import pytest

from hub_common.testing import eventually
from hub_vault.adapters.outbox_notify import NotifyDebouncer

pytestmark = pytest.mark.unit


class FakePool:
    def __init__(self) -> None:
        self.notified: list[float] = []

    async def execute(self, sql: str, channel: str) -> None:
        assert "pg_notify" in sql and channel == "ch"
        self.notified.append(asyncio.get_running_loop().time())


async def test_one_notify_per_window_and_a_trailing_one_after_skipped_writes():
    pool = FakePool()
    debouncer = NotifyDebouncer(pool, "ch", window_s=0.05)  # type: ignore[arg-type]
    assert debouncer.claim() == "ch"  # first write notifies in its own statement
    assert debouncer.claim() is None  # the next ones in the window skip...
    debouncer.committed_without_notify()  # ...and ask for a trailing NOTIFY once committed
    assert debouncer.claim() is None
    debouncer.committed_without_notify()  # still one timer
    await eventually(lambda: pool.notified, interval_s=0.001, what="the trailing NOTIFY")
    assert len(pool.notified) == 1  # exactly one trailing NOTIFY for both skipped writes
    assert debouncer.claim() is None  # the trailing NOTIFY opened a new window
    await eventually(lambda: debouncer.claim() == "ch", interval_s=0.005, what="the window's end")
    assert len(pool.notified) == 1  # the claims skipped inside the window asked for nothing


async def test_close_announces_what_is_pending():
    pool = FakePool()
    debouncer = NotifyDebouncer(pool, "ch", window_s=10)  # type: ignore[arg-type]
    debouncer.claim()
    debouncer.claim()
    debouncer.committed_without_notify()
    await debouncer.close()
    assert len(pool.notified) == 1
