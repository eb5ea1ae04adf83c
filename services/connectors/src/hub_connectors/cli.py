"""``hub-connectors serve|migrate|worker``.

``serve`` runs the API and, unless HUB_CONNECTORS_BACKGROUND=false, the background work too
(consumers, periodic health checks, audit retention). ``worker`` runs only the background work,
for deployments that scale it apart from the API.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from hub_common.db.migrations import MigrationSource
from hub_common.preflight import preflight
from hub_common.service import ServiceSpec, run_cli
from hub_common.settings import HubSettings
from hub_connectors.config import NEEDS, SCHEMA, ConnectorsSettings


def worker(_: argparse.Namespace, settings: HubSettings) -> int:
    from hub_connectors.inject import Container

    assert isinstance(settings, ConnectorsSettings)
    preflight(settings, NEEDS)

    async def run() -> None:
        container = Container(settings, background=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with container:
            await stop.wait()

    asyncio.run(run())
    return 0


SPEC = ServiceSpec(
    name="connectors",
    settings_factory=ConnectorsSettings,
    app_factory="hub_connectors.app:create_app",
    schema=SCHEMA,
    migrations=[MigrationSource.from_package("connectors", "hub_connectors")],
    needs=NEEDS,
    commands={"worker": ("run consumers and periodic jobs without the HTTP API", worker)},
)


def main() -> None:
    sys.exit(run_cli(SPEC))
