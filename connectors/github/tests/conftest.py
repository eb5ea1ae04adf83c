"""Fixtures for the GitHub connector's contract tests.

Answers are GitHub's own resource shapes, built by the GitHub simulator's object builders
(``hub_e2e.simulators.github_objects``, validated against github-rest.json by the simulator's
tests); webhook payloads come from the simulator too, checked here against github-webhooks.json.
"""

from __future__ import annotations

import pytest
from starlette.requests import Request

from hub_connector_sdk.testkit import GatewayStub, spec_file
from hub_connector_sdk.testkit.contract import provider_contract
from hub_e2e.simulators.github import GitHubSimulator
from hub_e2e.simulators.spec_guard import SpecGuard, WebhookGuard


@pytest.fixture
def stub() -> GatewayStub:
    """A gateway stub that checks every request and answer against github-rest.json (the SDK's
    contract harness; the test is skipped without the description)."""
    return GatewayStub(spec=provider_contract("github"), check_responses=True)


@pytest.fixture(scope="session")
def simulator() -> GitHubSimulator:
    if spec_file("github-webhooks.json") is None:
        pytest.skip("github-webhooks.json not available (HUB_SPECS_DIR)")
    return GitHubSimulator(SpecGuard(None), WebhookGuard.load("github-webhooks.json"))


@pytest.fixture
def sim_request() -> Request:
    """A request as the simulator's event builder expects (it takes URLs from it)."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/_sim/webhooks",
        "headers": [(b"host", b"github.sim.test")],
        "scheme": "https",
        "server": ("github.sim.test", 443),
        "query_string": b"",
        "root_path": "",
    }
    return Request(scope)
