"""What every open-loop load generator here shares."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_collector() -> Iterator[None]:
    """No full collection of the generator's own heap while it keeps a schedule.

    Unfrozen, a generator's ~90k long-lived objects (httpx, aiohttp, the hub's modules) cost a
    ~70 ms gen-2 pass now and then; every request due meanwhile is sent late by that much, and
    the lateness was charged to the server under test (more to a slower one, which takes longer
    to drain the burst that follows)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
