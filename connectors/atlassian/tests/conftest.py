"""Fixtures for the Atlassian connectors' contract tests.

Atlassian's descriptions name paths on the site (``/rest/api/3/...``; Confluence's relative to
``/wiki/api/v2``); OAuth calls reach them through ``api.atlassian.com/ex/<product>/<cloud_id>``.
:class:`SiteContract` takes that prefix off before the SDK's contract check, so every request is
still held to jira-platform-v3.json or confluence-v2.json.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest

from hub_connector_sdk.testkit import GatewayStub
from hub_connector_sdk.testkit.contract import OpenApiContract, provider_contract
from hub_e2e.simulators.atlassian import confluence_spec

CLOUD_ID = "11111111-2222-4333-8444-555555555555"
_PREFIX = re.compile(r"^/?ex/(jira|confluence)/[^/]+")


class SiteContract:
    """A provider contract seen through the ``/ex/<product>/<cloud_id>`` prefix."""

    def __init__(self, inner: Any, root: str = "") -> None:
        self.inner = inner
        self.name = inner.name
        self.root = root  # the description's server path (Confluence: /wiki/api/v2)

    def _site_path(self, path: str) -> str:
        site = "/" + _PREFIX.sub("", path).lstrip("/")
        return "/" + site.removeprefix(self.root).lstrip("/") if self.root else site

    def check_request(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return self.inner.check_request(method, self._site_path(path), query, body, headers=headers)

    def check_response(
        self, method: str, path: str, status: int, body: Any = None, *, content_type: str | None = None
    ) -> None:
        self.inner.check_response(method, self._site_path(path), status, body, content_type=content_type)


@pytest.fixture
def jira_stub() -> GatewayStub:
    """A gateway stub holding every request and answer to jira-platform-v3.json."""
    return GatewayStub(spec=SiteContract(provider_contract("jira")), check_responses=True)


@pytest.fixture
def confluence_stub() -> GatewayStub:
    """A gateway stub holding every request and answer to confluence-v2.json (whose paths are
    relative to the server's /wiki/api/v2), with its one unsatisfiable ``oneOf`` read as ``anyOf``
    (``hub_e2e.simulators.atlassian.relax_body_one_of`` says why)."""
    spec = confluence_spec()
    if spec is None:
        pytest.skip("confluence-v2.json not available (HUB_SPECS_DIR)")
    contract = OpenApiContract("confluence", [spec])
    return GatewayStub(spec=SiteContract(contract, "/wiki/api/v2"), check_responses=True)
