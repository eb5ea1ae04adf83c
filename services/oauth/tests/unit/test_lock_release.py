"""The refresh lock's release goes out after its block, bounded: a Redis that stops answering
holds up neither the next hold (it times out as usual) nor shutdown."""

import asyncio

import pytest

from hub_oauth.adapters import locks as locks_module
from hub_oauth.adapters.locks import LockTimeout, RedisLocks

pytestmark = pytest.mark.unit


class SilentOnRelease:
    """SET NX works; the release script never answers (a half-open connection)."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}

    async def set(self, key, value, nx, px):
        if key in self.keys:
            return False
        self.keys[key] = value
        return True

    def register_script(self, source):
        async def run(keys, args):
            if "del" in source:
                await asyncio.Event().wait()
            return 1

        return run


async def test_a_release_that_never_answers_bounds_the_next_hold_and_shutdown(monkeypatch):
    monkeypatch.setattr(locks_module, "RELEASE_TIMEOUT_S", 0.2)
    locks = RedisLocks(SilentOnRelease())
    async with locks.hold("c1"):
        pass  # the block ends at once; its release is pending
    with pytest.raises(LockTimeout):
        await asyncio.wait_for(locks.hold("c1", wait_s=0.1).__aenter__(), 2)
    await asyncio.wait_for(locks.aclose(), 2)
