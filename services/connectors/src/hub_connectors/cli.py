"""``hub-connectors serve|migrate``."""

from __future__ import annotations

import sys

from hub_common.service import ServiceSpec, run_cli
from hub_connectors.config import NEEDS, SCHEMA, ConnectorsSettings

SPEC = ServiceSpec(
    name="connectors",
    settings_factory=ConnectorsSettings,
    app_factory="hub_connectors.app:create_app",
    schema=SCHEMA,
    needs=NEEDS,
)


def main() -> None:
    sys.exit(run_cli(SPEC))
