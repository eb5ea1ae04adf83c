"""``hub-oauth serve|migrate``."""

from __future__ import annotations

import sys

from hub_common.service import ServiceSpec, run_cli
from hub_oauth.config import NEEDS, SCHEMA, OauthSettings

SPEC = ServiceSpec(
    name="oauth",
    settings_factory=OauthSettings,
    app_factory="hub_oauth.app:create_app",
    schema=SCHEMA,
    needs=NEEDS,
)


def main() -> None:
    sys.exit(run_cli(SPEC))
