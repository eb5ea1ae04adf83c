"""Fixtures for the Slack connector's contract tests.

Answers are Slack's own object shapes, built by the Slack simulator's builders
(``hub_e2e.simulators.slack_objects``, held to slack-web-api.json by the simulator's tests and by
the checks here); Events API payloads come from the simulator too, checked against the Events API
description's event wrapper.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from hub_connector_sdk.testkit import GatewayStub, spec_file
from hub_connector_sdk.testkit.contract import OpenApiContract, provider_contract
from hub_connector_sdk.testkit.openapi import Operation
from hub_e2e.simulators.slack import SlackSimulator, credential_as_described, described_part
from hub_e2e.simulators.spec_guard import SpecGuard, WebhookGuard


@dataclass
class SlackContract:
    """slack-web-api.json with Slack's two conventions the plain check does not know:

    - the description models the token as a ``token`` parameter; the gateway sends it as
      ``Authorization: Bearer`` (which Slack accepts in its place), so a stand-in fills it;
    - an ``ok: false`` answer comes with HTTP 200 and is described as the operation's
      ``default`` response, so it is checked against that (status 599 is documented nowhere,
      the check falls through to ``default``); an HTTP 429 is not described at all;
    - conversations.replies' ``response_metadata`` is missing from the description
      (``UNDESCRIBED_FIELDS``): the rest of such an answer is checked.
    """

    inner: OpenApiContract
    name: str = "slack"

    def check_request(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> Operation:
        spec = self.inner.specs[0]
        template = spec.find_operation(method, path).template
        query_with, headers_with = dict(query or {}), dict(headers or {})
        credential_as_described(spec.document, method, template, query_with, headers_with)
        return self.inner.check_request(method, path, query_with, body, headers=headers_with)

    def check_response(
        self, method: str, path: str, status: int, body: Any = None, *, content_type: str | None = None
    ) -> None:
        if status == 429:
            return  # a rate limit: Slack documents it in prose (Retry-After), not in the description
        failed = isinstance(body, dict) and body.get("ok") is False and status == 200
        template = self.inner.specs[0].find_operation(method, path).template
        self.inner.check_response(
            method, path, 599 if failed else status, described_part(template, body), content_type=content_type
        )


def slack_contract() -> SlackContract:
    contract = provider_contract("slack")
    assert isinstance(contract, OpenApiContract)
    return SlackContract(contract)


@pytest.fixture
def stub() -> GatewayStub:
    """A gateway stub that checks every request and answer against slack-web-api.json (skipped
    without the description)."""
    return GatewayStub(spec=slack_contract(), check_responses=True)


@pytest.fixture(scope="session")
def simulator() -> SlackSimulator:
    if spec_file("slack-events-api-async-v1.json") is None:
        pytest.skip("slack-events-api-async-v1.json not available (HUB_SPECS_DIR)")
    return SlackSimulator(SpecGuard(None), WebhookGuard.load("slack-events-api-async-v1.json"))


@pytest.fixture
def contract() -> SlackContract:
    return slack_contract()
