"""Contract fixtures of the Notion connector's tests.

The three reads the connector needs that Notion's published description files do not
contain (``notion.json`` keeps 7 operations; Notion publishes no full description). They are
listed here, by exact method and path shape, and nothing else may bypass the contract."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest

from hub_connector_sdk.testkit import GatewayStub
from hub_connector_sdk.testkit.contract import Contract, provider_contract

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
UNDESCRIBED = {
    # Retrieve a page: the re-fetch behind every thin webhook event.
    ("GET", re.compile(rf"^(/v1)?/pages/{UUID}$")),
    # Retrieve block children: the content export reads pages' blocks.
    ("GET", re.compile(rf"^(/v1)?/blocks/{UUID}/children$")),
    # Retrieve a database: its data sources, for query_database by database_id.
    ("GET", re.compile(rf"^(/v1)?/databases/{UUID}$")),
}


# Notion's "Status codes" reference: errors any operation may answer, with one body shape
# ({"object": "error", "status", "code", "message"}); the kept descriptions document 400 only.
ERROR_STATUSES = {400, 401, 403, 404, 409, 429, 500, 502, 503, 504, 529}


def is_notion_error(status: int, body: Any) -> bool:
    return (
        status in ERROR_STATUSES
        and isinstance(body, dict)
        and body.get("object") == "error"
        and isinstance(body.get("code"), str)
        and isinstance(body.get("message"), str)
        and body.get("status") == status
    )


class Undescribed:
    """A contract that lets exactly the listed reads through (recording them) and holds every
    other request and answer to the provider's description (error answers to Notion's
    documented error shape)."""

    def __init__(self, inner: Contract, allowed: set[tuple[str, re.Pattern[str]]]) -> None:
        self.inner, self.allowed = inner, allowed
        self.name = inner.name
        self.bypassed: list[str] = []

    def _allowed(self, method: str, path: str) -> bool:
        return any(method.upper() == m and p.match(path) for m, p in self.allowed)

    def check_request(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        if self._allowed(method, path):
            assert body is None, f"{method} {path} sends no body"
            self.bypassed.append(f"{method} {path}")
            return None
        return self.inner.check_request(method, path, query, body, headers=headers)

    def check_response(
        self, method: str, path: str, status: int, body: Any = None, *, content_type: str | None = None
    ) -> None:
        if self._allowed(method, path) or is_notion_error(status, body):
            return
        self.inner.check_response(method, path, status, body, content_type=content_type)


@pytest.fixture
def contract() -> Undescribed:
    """notion.json and its supplements (skipped without them), plus exactly the listed reads."""
    return Undescribed(provider_contract("notion"), UNDESCRIBED)


@pytest.fixture
def stub(contract: Undescribed) -> GatewayStub:
    """A gateway stub that checks every request and answer against the Notion descriptions."""
    return GatewayStub(spec=contract, check_responses=True)
