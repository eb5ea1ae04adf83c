from collections.abc import Callable
from typing import Any

import pytest

from hub_connector_sdk import InvalidParameters
from hub_connector_sdk.testkit import GatewayStub, run_action
from hub_connector_statuspage import StatuspageConnector

from .conftest import CONFIG, PAGE_ID

pytestmark = pytest.mark.unit
Cassette = Callable[[str], GatewayStub]


async def test_create_incident(cassette: Cassette) -> None:
    stub = cassette("create_incident")
    params = {
        "name": "API unavailable",
        "status": "investigating",
        "body": "We are investigating failed API requests.",
        "impact_override": "critical",
        "components": {"8kbf7d35c070": "major_outage"},
    }

    result = await run_action(StatuspageConnector, "create_incident", params, config=CONFIG, stub=stub)

    assert result.success, result.error_message
    assert result.data["id"] == "p31zjtct2jer"
    assert result.data["status"] == "investigating"
    assert result.data["components"] == [{"id": "8kbf7d35c070", "name": "API", "status": "major_outage"}]
    assert result.data["latest_update"]["body"] == "We are investigating failed API requests."
    (call,) = stub.calls
    assert call.json["incident"]["component_ids"] == ["8kbf7d35c070"]
    assert call.json["incident"]["deliver_notifications"] is True


async def test_update_incident(cassette: Cassette) -> None:
    params = {
        "incident_id": "p31zjtct2jer",
        "status": "identified",
        "body": "A faulty deploy was identified and is being rolled back.",
    }

    result = await run_action(
        StatuspageConnector, "update_incident", params, config=CONFIG, stub=cassette("update_incident")
    )

    assert result.success, result.error_message
    assert result.data["status"] == "identified"
    assert result.data["latest_update"]["status"] == "identified"


async def test_list_incidents(cassette: Cassette) -> None:
    stub = cassette("list_incidents")

    result = await run_action(
        StatuspageConnector, "list_incidents", {"query": "api", "limit": 2}, config=CONFIG, stub=stub
    )

    assert result.success, result.error_message
    assert [i["id"] for i in result.data["incidents"]] == ["p31zjtct2jer", "b8x6wq3rvz1m"]
    assert result.data["has_more"] is True  # a full page came back
    assert stub.calls[0].query == {"limit": ["2"], "page": ["1"], "q": ["api"]}


async def test_update_component_status(cassette: Cassette) -> None:
    result = await run_action(
        StatuspageConnector,
        "update_component_status",
        {"component_id": "8kbf7d35c070", "status": "degraded_performance"},
        config=CONFIG,
        stub=cassette("update_component_status"),
    )

    assert result.success, result.error_message
    assert result.data == {
        "id": "8kbf7d35c070",
        "name": "API",
        "status": "degraded_performance",
        "updated_at": "2026-03-02T10:30:02.811Z",
    }


@pytest.mark.parametrize(
    ("action_id", "params", "path", "validator"),
    [
        ("create_incident", {"status": "investigating"}, "/name", "required"),
        ("create_incident", {"name": "x", "status": "broken"}, "/status", "enum"),
        ("create_incident", {"name": "x", "components": {"c1": "on_fire"}}, "/components/c1", "enum"),
        ("create_incident", {"name": "x", "severity": "high"}, "/severity", "additionalProperties"),
        ("update_incident", {"incident_id": "../pages", "status": "resolved"}, "/incident_id", "pattern"),
        ("list_incidents", {"limit": 500}, "/limit", "maximum"),
        ("update_component_status", {"component_id": "c1"}, "/status", "required"),
    ],
)
async def test_parameters_are_validated_before_any_call(
    action_id: str, params: dict[str, Any], path: str, validator: str
) -> None:
    stub = GatewayStub()

    with pytest.raises(InvalidParameters) as caught:
        await run_action(StatuspageConnector, action_id, params, config=CONFIG, stub=stub)

    errors = caught.value.details["errors"]
    assert [(e["path"], e["validator"]) for e in errors] == [(path, validator)]
    assert stub.calls == []


async def test_an_update_must_change_something() -> None:
    with pytest.raises(InvalidParameters) as caught:
        await run_action(
            StatuspageConnector, "update_incident", {"incident_id": "p31zjtct2jer"}, config=CONFIG
        )

    assert "give at least one of" in caught.value.details["errors"][0]["message"]


async def test_a_rejected_key_is_a_failed_result() -> None:
    result = await run_action(
        StatuspageConnector,
        "list_incidents",
        {},
        config=CONFIG,
        responses={"GET /pages/{page_id}/incidents": (401, {"error": "Could not authenticate"})},
    )

    assert not result.success
    assert (result.error_code, result.status_code) == ("credentials_rejected", 401)
    assert result.error_message == "Could not authenticate"


async def test_provider_validation_errors_are_passed_on() -> None:
    result = await run_action(
        StatuspageConnector,
        "create_incident",
        {"name": "x"},
        config=CONFIG,
        responses={f"POST /pages/{PAGE_ID}/incidents": (422, {"error": ["Components are invalid"]})},
    )

    assert (result.success, result.error_code, result.error_message) == (
        False,
        "provider_rejected",
        "Components are invalid",
    )


async def test_user_input_never_changes_the_path() -> None:
    stub = GatewayStub().route(
        "PATCH",
        "/pages/{page_id}/components/{component_id}",
        {"id": "a", "name": "A", "status": "operational"},
    )

    await run_action(
        StatuspageConnector,
        "update_component_status",
        {"component_id": "abc123", "status": "operational"},
        config={"page_id": "p 1"},  # config is validated by the hub; the path is encoded regardless
        stub=stub,
    )

    assert stub.calls[0].path == "/pages/p%201/components/abc123"
    assert stub.calls[0].path_params == {"page_id": "p 1", "component_id": "abc123"}
