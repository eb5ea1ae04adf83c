"""``hub-gateway serve|migrate``."""

from __future__ import annotations

import sys

from hub_common.db.migrations import MigrationSource
from hub_common.service import ServiceSpec, run_cli
from hub_gateway.config import NEEDS, SCHEMA, GatewaySettings

SPEC = ServiceSpec(
    name="gateway",
    settings_factory=GatewaySettings,
    app_factory="hub_gateway.app:create_app",
    schema=SCHEMA,
    migrations=[MigrationSource.from_package("gateway", "hub_gateway")],
    needs=NEEDS,
    # ~1.3x uvicorn's req/s per worker in the same runs of the bench (ADR 0009).
    server="granian",
)


def main() -> None:
    sys.exit(run_cli(SPEC))
