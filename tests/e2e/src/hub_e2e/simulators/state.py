"""The running simulator: flavor, settings, store, faults and the lock that serialises grants."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from starlette.requests import Request
from starlette.responses import Response

from hub_e2e.simulators.config import Settings
from hub_e2e.simulators.faults import Fault, Faults, fault_response
from hub_e2e.simulators.store import Store

if TYPE_CHECKING:
    from hub_e2e.simulators.flavors import Flavor


@dataclass
class Simulator:
    flavor: Flavor
    settings: Settings
    store: Store = field(default_factory=Store)
    faults: Faults = field(default_factory=Faults)
    # One lock around every state transition of codes and token families: two concurrent
    # refreshes with the same refresh token must be ordered, exactly as a real server's
    # database transaction would order them.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def issuer(self, request: Request) -> str:
        return self.settings.issuer or str(request.base_url).rstrip("/")

    def reset(self, *, clients: bool = False) -> None:
        self.store.reset_state()
        self.faults.clear()
        if clients:
            self.store.clients.clear()


def sim_of(request: Request) -> Simulator:
    return cast(Simulator, request.app.state.sim)


def take_fault(sim: Simulator, endpoint: str, grant_type: str | None = None) -> Fault | None:
    fault = sim.faults.take(endpoint, grant_type)
    if fault is not None:
        sim.store.stats.faults_injected += 1
    return fault


async def injected_fault(sim: Simulator, endpoint: str) -> Response | None:
    """Apply the next matching fault: a replacement response, or None to carry on."""
    fault = take_fault(sim, endpoint)
    return None if fault is None else await fault_response(fault)
