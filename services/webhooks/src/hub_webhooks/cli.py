"""``hub-webhooks serve|migrate``."""

from __future__ import annotations

import sys

from hub_common.db.migrations import MigrationSource
from hub_common.service import ServiceSpec, run_cli
from hub_webhooks.config import NEEDS, SCHEMA, WebhooksSettings

SPEC = ServiceSpec(
    name="webhooks",
    settings_factory=WebhooksSettings,
    app_factory="hub_webhooks.app:create_app",
    schema=SCHEMA,
    migrations=[MigrationSource.from_package("webhooks", "hub_webhooks")],
    needs=NEEDS,
)


def main() -> None:
    sys.exit(run_cli(SPEC))
