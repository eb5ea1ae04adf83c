"""Fixtures for the Atlassian connectors' contract tests.

Atlassian's descriptions name paths on the site (``/rest/api/3/...``); OAuth calls reach them
through ``api.atlassian.com/ex/jira/{cloud_id}``. :class:`SiteContract` takes that prefix off
before the SDK's contract check, so every request is still held to jira-platform-v3.json.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest

from hub_connector_sdk.testkit import GatewayStub
from hub_connector_sdk.testkit.contract import provider_contract

CLOUD_ID = "11111111-2222-4333-8444-555555555555"
_PREFIX = re.compile(r"^/?ex/(jira|confluence)/[^/]+")


class SiteContract:
    """A provider contract seen through the ``/ex/<product>/<cloud_id>`` prefix."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name

    @staticmethod
    def _site_path(path: str) -> str:
        return "/" + _PREFIX.sub("", path).lstrip("/")

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
