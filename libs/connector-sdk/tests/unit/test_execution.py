from typing import Any

import pytest

from hub_connector_sdk import BaseConnector, ConnectorError, InvalidParameters, UnknownTrigger
from hub_connector_sdk.testkit import GatewayStub, parse_webhook, run_action, run_health_check, run_poll

pytestmark = pytest.mark.unit
CONFIG = {"account": "acme"}


# -- actions --
async def test_execute_validates_runs_and_wraps_the_result(tracker: type[BaseConnector]) -> None:
    stub = GatewayStub()
    stub.route("POST", "/accounts/{account}/issues", lambda req: (201, {"id": 7, "title": req.json["title"]}))

    result = await run_action(tracker, "create_issue", {"title": "Bug"}, config=CONFIG, stub=stub)

    assert result.success
    assert result.data == {"id": 7, "title": "Bug", "state": "open"}  # the output model, as JSON
    assert result.duration_ms is not None and result.duration_ms >= 0
    (call,) = stub.calls
    assert call.path == "/accounts/acme/issues"
    assert call.json == {"title": "Bug", "labels": [], "priority": 3}


async def test_lists_of_models_are_serialised(tracker: type[BaseConnector]) -> None:
    result = await run_action(
        tracker,
        "list_issues",
        {"state": "open"},
        responses={"GET /issues": [{"id": 1, "title": "a"}, {"id": 2, "title": "b", "state": "closed"}]},
    )

    assert result.data == [
        {"id": 1, "title": "a", "state": "open"},
        {"id": 2, "title": "b", "state": "closed"},
    ]


async def test_provider_errors_become_failed_results(tracker: type[BaseConnector]) -> None:
    result = await run_action(
        tracker,
        "create_issue",
        {"title": "Bug"},
        config=CONFIG,
        responses={"POST /accounts/{account}/issues": (422, {"message": "Validation Failed"})},
    )

    assert not result.success
    assert (result.error_code, result.error_message, result.status_code) == (
        "provider_rejected",
        "Validation Failed",
        422,
    )


async def test_invalid_parameters_propagate_before_any_call(tracker: type[BaseConnector]) -> None:
    stub = GatewayStub()

    with pytest.raises(InvalidParameters):
        await run_action(tracker, "create_issue", {}, config=CONFIG, stub=stub)
    assert stub.calls == []


async def test_connector_errors_inside_an_action_are_failed_results(tracker: type[BaseConnector]) -> None:
    result = await run_action(tracker, "create_issue", {"title": "Bug"}, config={})  # no account configured

    assert not result.success and result.error_code == "invalid_config"
    assert "'account'" in (result.error_message or "")


# -- expand_path --
def test_expand_path_encodes_every_value_as_one_segment(tracker: type[BaseConnector]) -> None:
    connector = GatewayStub().connector(tracker, config={"account": "a/b"})

    assert connector.expand_path("accounts/{account}/issues/{n}", n="../x") == "accounts/a%2Fb/issues/..%2Fx"
    assert connector.expand_path("accounts/{account}", account="given") == "accounts/given"
    with pytest.raises(ConnectorError) as caught:
        connector.expand_path("pages/{page_id}")
    assert caught.value.code == "invalid_config"
    with pytest.raises(ConnectorError) as malformed:
        connector.expand_path("pages/{page_id")
    assert malformed.value.code == "invalid_path"


# -- health --
async def test_health_check_fills_the_path_from_config(tracker: type[BaseConnector]) -> None:
    stub = GatewayStub().route("GET", "/accounts/acme/me", {"login": "bob"})

    health = await run_health_check(tracker, config=CONFIG, stub=stub)

    assert health.is_healthy and health.message == "ok" and not health.credentials_invalid
    assert [c.path for c in stub.calls] == ["/accounts/acme/me"]


async def test_health_account_info_hook(tracker: type[BaseConnector]) -> None:
    class WithAccount(tracker):  # type: ignore[valid-type,misc]
        def health_account_info(self, body: Any) -> dict[str, str]:
            return {"login": body["login"]}

    health = await run_health_check(
        WithAccount, config=CONFIG, responses={"GET /accounts/acme/me": {"login": "bob"}}
    )

    assert health.account_info == {"login": "bob"}


@pytest.mark.parametrize(
    ("status", "invalid"),
    [(401, True), (403, True), (404, False), (500, False)],
)
async def test_unhealthy_answers(tracker: type[BaseConnector], status: int, invalid: bool) -> None:
    health = await run_health_check(
        tracker, config=CONFIG, responses={"GET /accounts/{account}/me": (status, {"message": "nope"})}
    )

    assert not health.is_healthy
    assert health.credentials_invalid is invalid
    assert health.message == "nope"


async def test_health_check_without_the_config_it_needs(tracker: type[BaseConnector]) -> None:
    health = await run_health_check(tracker, config={})

    assert not health.is_healthy and "'account'" in (health.message or "")


async def test_a_connector_without_health_check_says_so(tracker: type[BaseConnector]) -> None:
    class NoHealth(tracker):  # type: ignore[valid-type,misc]
        health_path = None

    with pytest.raises(NotImplementedError, match="health_path or health_check"):
        await run_health_check(NoHealth)


# -- webhook triggers --
def test_parse_webhook_routes_by_event_name(tracker: type[BaseConnector]) -> None:
    events = parse_webhook(tracker, {"id": 5, "title": "Bug"}, headers={"X-Tracker-Event": "issue.opened"})

    assert [(e.trigger_id, e.payload) for e in events] == [("issue_opened", {"id": 5, "title": "Bug"})]


def test_one_trigger_may_listen_to_several_events(tracker: type[BaseConnector]) -> None:
    closed = parse_webhook(tracker, {"id": 5}, headers={"x-tracker-event": "issue.closed"})
    deleted = parse_webhook(tracker, {"id": 5}, headers={"x-tracker-event": "issue.deleted"})

    assert [e.payload for e in closed + deleted] == [
        {"id": 5, "event": "issue.closed"},
        {"id": 5, "event": "issue.deleted"},
    ]


def test_returning_none_ignores_a_delivery(tracker: type[BaseConnector]) -> None:
    assert (
        parse_webhook(
            tracker, {"id": 5, "title": "x", "draft": True}, headers={"x-tracker-event": "issue.opened"}
        )
        == []
    )


def test_unknown_or_missing_event_names_fire_nothing(tracker: type[BaseConnector]) -> None:
    assert parse_webhook(tracker, {"id": 5}, headers={"x-tracker-event": "issue.labeled"}) == []
    assert parse_webhook(tracker, {"id": 5}) == []


def test_a_body_that_is_not_json_is_refused(tracker: type[BaseConnector]) -> None:
    with pytest.raises(ConnectorError) as caught:
        parse_webhook(tracker, b"<xml/>", headers={"x-tracker-event": "issue.opened"})
    assert caught.value.code == "invalid_webhook_body"


async def test_webhook_registration_is_unsupported_by_default(tracker: type[BaseConnector]) -> None:
    connector = GatewayStub().connector(tracker)

    with pytest.raises(ConnectorError) as caught:
        await connector.register_webhook(["issue_opened"], "https://hub.test/webhooks/tracker/r1", "s")
    assert caught.value.code == "webhook_registration_unsupported"


# -- polling triggers --
async def test_polling_passes_the_cursor_and_returns_the_next_one(tracker: type[BaseConnector]) -> None:
    stub = GatewayStub()
    stub.route("GET", "/issues", [{"id": 11, "title": "a"}, {"id": 12, "title": "b"}])
    stub.route("GET", "/issues", [])

    first = await run_poll(tracker, "new_issue", "10", stub=stub)
    second = await run_poll(tracker, "new_issue", first.cursor, stub=stub)

    assert [e.dedupe_key for e in first.events] == ["11", "12"]
    assert first.cursor == "12"
    assert second.events == [] and second.cursor == "12"
    assert [c.param("since_id") for c in stub.calls] == ["10", "12"]


async def test_polling_an_unknown_or_webhook_trigger_is_refused(tracker: type[BaseConnector]) -> None:
    with pytest.raises(UnknownTrigger):
        await run_poll(tracker, "nope")
    with pytest.raises(UnknownTrigger):
        await run_poll(tracker, "issue_opened")


@pytest.mark.parametrize("status", [403, 429, 502])
async def test_the_gateways_own_refusals_say_nothing_about_credentials(
    tracker: type[BaseConnector], status: int
) -> None:
    gateway_body = {"error": {"code": "host_not_allowed", "message": "refused by the hub", "details": {}}}
    health = await run_health_check(
        tracker, config=CONFIG, responses={"GET /accounts/{account}/me": (status, gateway_body)}
    )

    assert not health.is_healthy
    assert health.credentials_invalid is False
    assert health.message == "refused by the hub"
