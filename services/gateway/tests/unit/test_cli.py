"""The gateway serves on granian (ADR 0009); its commands are the shared CLI's."""

import pytest

from hub_gateway.cli import SPEC

pytestmark = pytest.mark.unit


def test_the_gateway_serves_on_granian_with_its_own_app_and_migrations():
    assert SPEC.server == "granian" and SPEC.app_factory == "hub_gateway.app:create_app"
    assert [m.name for m in SPEC.migration_sources()][-1] == "gateway"
