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
    http_protocol="hub_gateway.api.http_server:OneWriteHttpProtocol",  # one write per answer
)


def main() -> None:
    sys.exit(run_cli(SPEC))
