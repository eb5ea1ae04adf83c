"""SDK v2 in the example: trigger identity, content export, and the test kit's strictness."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from hub_connector_sdk.testkit import GatewayStub, assert_valid_connector, parse_webhook, run_export
from hub_connector_statuspage import StatuspageConnector

from .conftest import CONFIG, PAGE_ID

pytestmark = pytest.mark.unit
Payload = Callable[[str], dict[str, Any]]


def test_the_manifest_declares_content_export() -> None:
    assert_valid_connector(StatuspageConnector)
    manifest = StatuspageConnector.manifest()
    assert manifest.content_export and manifest.version == "1.1.0"
    assert manifest.webhook_signature is None  # Statuspage does not sign deliveries


def test_webhook_events_carry_the_providers_identity_and_time(payload: Payload) -> None:
    body = payload("incident_webhook")
    (event,) = parse_webhook(StatuspageConnector, body, config=CONFIG)
    updated = body["incident"]["updated_at"]
    assert event.event_id == f"incident:p31zjtct2jer:{updated}"
    assert event.occurred_at == datetime.fromisoformat(updated.replace("Z", "+00:00"))
    assert event.dedupe_key == f"statuspage:incident:p31zjtct2jer:{updated}:incident_updated"

    (change,) = parse_webhook(StatuspageConnector, payload("component_webhook"), config=CONFIG)
    assert change.event_id == "component_update:k3t9w1c5x8zq"
    assert change.occurred_at == datetime(2026, 3, 2, 10, 30, 2, 811000, tzinfo=UTC)


def _incident(n: int, updated: str) -> dict[str, Any]:
    return {
        "id": f"inc{n}", "name": f"Incident {n}", "status": "resolved", "impact": "minor",
        "shortlink": f"https://stspg.io/{n}", "created_at": "2026-03-01T10:00:00Z", "updated_at": updated,
        "incident_updates": [{"status": "resolved", "body": f"Fixed {n}."}],
    }  # fmt: skip


async def test_export_walks_the_pages_then_continues_incrementally() -> None:
    first_page = [_incident(i, f"2026-03-0{1 + i % 5}T12:00:00Z") for i in range(100)]
    stub = GatewayStub()
    stub.route(
        "GET", "/pages/{page_id}/incidents", lambda req: first_page if req.param("page") == "1" else []
    )

    page = await run_export(StatuspageConnector, None, config=CONFIG, stub=stub)
    assert len(page.documents) == 100 and page.has_more
    doc = page.documents[0]
    assert (doc.id, doc.title, doc.url, doc.text) == (
        "inc0",
        "Incident 0",
        "https://stspg.io/0",
        "resolved: Fixed 0.",
    )
    last = await run_export(StatuspageConnector, page.cursor, config=CONFIG, stub=stub)
    assert last.documents == [] and not last.has_more
    assert [c.param("page") for c in stub.calls] == ["1", "2"]
    assert stub.calls[0].path == f"/pages/{PAGE_ID}/incidents"

    # The next (incremental) run starts at page 1 and only keeps what changed since the newest seen.
    stub.route("GET", "/pages/{page_id}/incidents", [_incident(7, "2026-03-09T08:00:00Z"), *first_page[:3]])
    incremental = await run_export(StatuspageConnector, last.cursor, config=CONFIG, stub=stub)
    assert [d.id for d in incremental.documents] == ["inc7"] and not incremental.has_more
