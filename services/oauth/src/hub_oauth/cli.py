"""``hub-oauth serve|migrate``."""

from __future__ import annotations

import sys

from hub_common.db import MigrationSource
from hub_common.service import ServiceSpec, run_cli
from hub_oauth.config import NEEDS, SCHEMA, OAuthSettings

SPEC = ServiceSpec(
    name="oauth",
    settings_factory=OAuthSettings,
    app_factory="hub_oauth.app:create_app",
    schema=SCHEMA,
    migrations=[MigrationSource.from_package("oauth", "hub_oauth")],
    needs=NEEDS,
)


def main() -> None:
    sys.exit(run_cli(SPEC))
