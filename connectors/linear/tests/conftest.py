"""Fixtures for the Linear connector's contract tests: a gateway stub that validates every GraphQL
document (with its variables) against linear-schema.graphql (the SDK's contract harness; the
tests are skipped without the schema, see HUB_SPECS_DIR)."""

from __future__ import annotations

import pytest

from hub_connector_sdk.testkit import GatewayStub
from hub_connector_sdk.testkit.contract import provider_contract


@pytest.fixture
def stub() -> GatewayStub:
    return GatewayStub(spec=provider_contract("linear"), check_responses=True)
