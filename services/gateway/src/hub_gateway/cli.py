"""``hub-gateway serve|migrate``."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from hub_common.db.migrations import MigrationSource
from hub_common.service import ServiceSpec, run_cli
from hub_gateway import server
from hub_gateway.config import NEEDS, SCHEMA, GatewaySettings

SPEC = ServiceSpec(
    name="gateway",
    settings_factory=GatewaySettings,
    app_factory=server.APP_FACTORY,
    schema=SCHEMA,
    migrations=[MigrationSource.from_package("gateway", "hub_gateway")],
    needs=NEEDS,
)


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["serve"]:
        # The gateway serves on granian (hub_gateway.server); migrate and --help stay the shared CLI's.
        sys.exit(server.run(args[1:]))
    sys.exit(run_cli(SPEC, args))
