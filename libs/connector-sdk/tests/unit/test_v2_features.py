"""SDK v2: trigger identity, provider-issued secrets, error excerpts and Retry-After,
pagination helpers, and a test kit as strict as the hub."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from hub_connector_sdk import (
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    BaseConnector,
    ContentDocument,
    Cursor,
    ExportPage,
    LinkHeader,
    Offset,
    ProviderResponse,
    TriggerOutput,
    TriggerType,
    WebhookRegistration,
    WebhookVerificationError,
    action,
    collect,
    error_for,
    parse_link_header,
    retry_after,
    trigger,
)
from hub_connector_sdk.testkit import (
    GatewayStub,
    SchemaMismatch,
    connector_problems,
    parse_webhook,
    run_action,
    run_export,
    signed_delivery,
)

pytestmark = pytest.mark.unit
CONFIG = {"account": "acme"}


# -- 3. trigger identity --------------------------------------------------------------------------------
def test_event_id_comes_from_the_signature_spec_delivery_header(tracker: type[BaseConnector]) -> None:
    signed = type("Signed", (tracker,), {"webhook_signature": "github-sha256"})
    (event,) = parse_webhook(
        signed,
        {"id": 1, "title": "t"},
        headers={"X-Tracker-Event": "issue.opened", "X-GitHub-Delivery": "72d3162e"},
    )
    assert event.event_id == "72d3162e"
    assert event.dedupe_key == "tracker:72d3162e:issue_opened"


def test_a_parser_returns_the_event_id_and_time(tracker: type[BaseConnector]) -> None:
    class Timed(tracker):  # type: ignore[valid-type,misc]
        @trigger(
            "issue_opened", type=TriggerType.CREATED, events=["issue.opened"], payload={"type": "object"}
        )
        def on_opened(self, event: str, payload: dict[str, Any]) -> TriggerOutput:
            return TriggerOutput(
                payload={"id": payload["id"]},
                event_id=f"evt-{payload['id']}",
                occurred_at=datetime.fromisoformat(payload["at"]),
            )

    (event,) = parse_webhook(
        Timed, {"id": 3, "at": "2026-03-02T10:01:07+00:00"}, headers={"X-Tracker-Event": "issue.opened"}
    )
    assert event.event_id == "evt-3"
    assert event.occurred_at == datetime(2026, 3, 2, 10, 1, 7, tzinfo=UTC)


def test_trigger_payloads_are_checked_against_their_schema(tracker: type[BaseConnector]) -> None:
    class Strict(tracker):  # type: ignore[valid-type,misc]
        @trigger(
            "issue_opened",
            type=TriggerType.CREATED,
            events=["issue.opened"],
            payload={"type": "object", "required": ["id", "url"]},
        )
        def on_opened(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
            return {"id": payload["id"]}

    with pytest.raises(SchemaMismatch, match="'url' is a required property"):
        parse_webhook(Strict, {"id": 1}, headers={"X-Tracker-Event": "issue.opened"})


# -- 2. provider-issued secrets -------------------------------------------------------------------------
def test_registration_secret_is_never_serialised() -> None:
    registration = WebhookRegistration(external_id="h1", secret="pd-issued-secret")  # type: ignore[arg-type]
    assert registration.secret is not None
    assert registration.secret.get_secret_value() == "pd-issued-secret"
    assert "pd-issued-secret" not in registration.model_dump_json()
    assert "pd-issued-secret" not in repr(registration)
    assert "secret" not in registration.model_dump(mode="json")


# -- 4. errors, Retry-After ------------------------------------------------------------------------------
def _resp(status: int, body: bytes, headers: dict[str, str] | None = None) -> ProviderResponse:
    return ProviderResponse(status, httpx.Headers(headers or {}), body)


def test_error_for_keeps_a_redacted_bounded_excerpt() -> None:
    body = (
        b'{"message": "Validation Failed", "errors": [{"field": "title"}], "token": "ghp_abcdefgh12345678"}'
    )
    error = error_for(_resp(422, body))
    assert error.code == "provider_rejected" and error.message == "Validation Failed"
    assert error.body_excerpt is not None and "ghp_abcdefgh12345678" not in error.body_excerpt
    assert '"field": "title"' in error.body_excerpt
    big = error_for(_resp(500, b"x" * 50_000))
    assert big.body_excerpt is not None and len(big.body_excerpt) <= 1000


def test_retry_after_seconds_and_dates() -> None:
    assert retry_after(httpx.Headers({"Retry-After": "30"})) == 30.0
    assert retry_after(httpx.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after(httpx.Headers({"Retry-After": "soon"})) is None
    assert retry_after(httpx.Headers({})) is None


async def test_a_429_reaches_the_action_result_with_retry_after(tracker: type[BaseConnector]) -> None:
    result = await run_action(
        tracker,
        "create_issue",
        {"title": "Bug"},
        config=CONFIG,
        responses={
            "POST /accounts/{account}/issues": (
                429,
                {"message": "API rate limit exceeded", "documentation_url": "https://docs"},
                {"Retry-After": "17"},
            )
        },
    )
    assert not result.success and result.error_code == "provider_rate_limited"
    assert result.retry_after_s == 17.0
    assert (
        result.error_details is not None
        and "API rate limit exceeded" in result.error_details["provider_body"]
    )


async def test_the_gateways_own_429_carries_retry_after(tracker: type[BaseConnector]) -> None:
    stub = GatewayStub()
    stub.route(
        "POST",
        "/accounts/{account}/issues",
        status=429,
        headers={"Retry-After": "3"},
        json={"error": {"code": "rate_limited", "message": "tenant quota", "details": {}}},
    )
    result = await run_action(tracker, "create_issue", {"title": "Bug"}, config=CONFIG, stub=stub)
    assert result.error_code == "rate_limited" and result.retry_after_s == 3.0


# -- 4. pagination -------------------------------------------------------------------------------------
def test_parse_link_header() -> None:
    value = (
        '<https://api.github.com/repositories/1/issues?page=2&per_page=2>; rel="next", '
        '<https://api.github.com/repositories/1/issues?page=5&per_page=2>; rel="last"'
    )
    links = parse_link_header(value)
    assert links["next"].endswith("page=2&per_page=2") and links["last"].endswith("page=5&per_page=2")
    assert parse_link_header(None) == {}


async def test_link_header_pages_keep_the_actions_path() -> None:
    stub = GatewayStub()

    def issues(req: Any) -> Any:
        page = int(req.param("page") or 1)
        link = f'<https://ghe.example/api/v3/repositories/9/issues?per_page=2&page={page + 1}>; rel="next"'
        return 200, [{"n": page * 10 + 1}, {"n": page * 10 + 2}], ({"Link": link} if page < 3 else {})

    stub.route("GET", "/repos/o/r/issues", issues)
    items = await collect(stub.client(), "repos/o/r/issues", LinkHeader(), params={"per_page": 2})
    assert [i["n"] for i in items] == [11, 12, 21, 22, 31, 32]
    assert {c.path for c in stub.calls} == {"/repos/o/r/issues"}  # never /api/v3/repositories/...


async def test_cursor_pages_stop_on_an_empty_cursor_and_max_items() -> None:
    stub = GatewayStub()
    stub.route("GET", "/conversations.list", {"channels": [1, 2], "response_metadata": {"next_cursor": "c2"}})
    stub.route("GET", "/conversations.list", {"channels": [3], "response_metadata": {"next_cursor": ""}})
    paginator = Cursor("cursor", "response_metadata.next_cursor", items="channels")
    assert await collect(stub.client(), "conversations.list", paginator) == [1, 2, 3]
    assert stub.calls[1].param("cursor") == "c2"


async def test_offset_pages_with_total() -> None:
    stub = GatewayStub()
    stub.route("GET", "/search", lambda req: {"issues": [int(req.param("startAt") or 0)] * 2, "total": 5})
    paginator = Offset("startAt", "maxResults", items="issues", total="total")
    items = await collect(stub.client(), "search", paginator, params={"maxResults": 2})
    assert len(items) == 6 and [c.param("startAt") for c in stub.calls] == [None, "2", "4"]


async def test_offset_pages_with_has_more() -> None:
    stub = GatewayStub()
    stub.route("GET", "/items", {"data": [1, 2], "has_more": True})
    stub.route("GET", "/items", {"data": [3], "has_more": False})
    items = await collect(stub.client(), "items", Offset(items="data", has_more="has_more"))
    assert items == [1, 2, 3] and stub.calls[1].param("offset") == "2"


# -- 5. the test kit refuses what the hub refuses --------------------------------------------------------
def test_custom_auth_and_a_newer_hub_are_refused(tracker: type[BaseConnector]) -> None:
    custom = type("Custom", (tracker,), {"auth": AuthSpec(method=AuthenticationMethod.CUSTOM)})
    assert any("auth method custom is refused" in p for p in connector_problems(custom))
    future = type("Future", (tracker,), {"min_hub_version": "9.0.0"})
    assert any("min_hub_version 9.0.0 is newer than the hub" in p for p in connector_problems(future))
    assert connector_problems(future, hub_version="9.1.0") == []


async def test_action_output_is_checked_against_its_schema(tracker: type[BaseConnector]) -> None:
    class Liar(tracker):  # type: ignore[valid-type,misc]
        @action("list_issues", output={"type": "array"})
        async def list_issues(self, params: dict[str, Any]) -> dict[str, Any]:
            return {"not": "a list"}

    with pytest.raises(SchemaMismatch, match="action list_issues output"):
        await run_action(Liar, "list_issues", {})


async def test_gateway_stub_sends_the_manifests_default_headers(tracker: type[BaseConnector]) -> None:
    api = ApiSpec(
        base_url="https://api.tracker.test/v2",
        allowed_hosts=["api.tracker.test"],
        default_headers={"Accept": "application/vnd.tracker+json", "X-Api-Version": "2026-01-01"},
        config_schema=tracker.api.config_schema,
    )
    versioned = type("Versioned", (tracker,), {"api": api})
    stub = GatewayStub()
    stub.route("POST", "/accounts/{account}/issues", (201, {"id": 1, "title": "t"}))
    await run_action(versioned, "create_issue", {"title": "t"}, config=CONFIG, stub=stub)
    (call,) = stub.calls
    assert call.headers["accept"] == "application/vnd.tracker+json"  # replaced httpx's */*
    assert call.headers["x-api-version"] == "2026-01-01"


# -- content export -------------------------------------------------------------------------------------
async def test_content_export_hook_and_manifest_flag(tracker: type[BaseConnector]) -> None:
    class Exporting(tracker):  # type: ignore[valid-type,misc]
        async def export_content(self, cursor: str | None) -> ExportPage:
            page = int(cursor or 0)
            resp = await self.client.get("issues", params={"page": page})
            docs = [
                ContentDocument(
                    id=str(i["id"]), title=i["title"], text="", updated_at=datetime(2026, 1, 1, tzinfo=UTC)
                )
                for i in resp.json()
            ]
            return ExportPage(documents=docs, cursor=str(page + 1), has_more=page < 1)

    assert Exporting.manifest().content_export and not tracker.manifest().content_export
    page = await run_export(Exporting, "1", responses={"GET /issues": [{"id": 5, "title": "five"}]})
    assert page.documents[0].id == "5" and page.cursor == "2" and not page.has_more


# -- the test kit verifies deliveries as the hub does -------------------------------------------------
def test_parse_webhook_verifies_with_the_declared_scheme(tracker: type[BaseConnector]) -> None:
    signed = type("Signed", (tracker,), {"webhook_signature": "github-sha256"})
    body, headers = signed_delivery(
        signed, {"id": 1, "title": "t"}, "s3cret", headers={"X-Tracker-Event": "issue.opened"}
    )
    (event,) = parse_webhook(signed, body, headers=headers, secret="s3cret")
    assert event.payload == {"id": 1, "title": "t"}
    with pytest.raises(WebhookVerificationError):
        parse_webhook(signed, body, headers=headers, secret="another")
    with pytest.raises(AssertionError, match="declares no webhook_signature"):
        parse_webhook(tracker, body, headers=headers, secret="s3cret")


async def test_only_overriding_connectors_refetch_thin_events(tracker: type[BaseConnector]) -> None:
    from hub_connector_sdk import TriggerEvent
    from hub_connector_sdk.testkit import connection_context

    assert tracker.refetches_trigger_events() is False
    events = [TriggerEvent(trigger_id="t", payload={"id": 1})]
    assert await tracker(connection_context({}), None).refetch_trigger_events(events) is events  # type: ignore[arg-type]

    class Thin(tracker):  # type: ignore[valid-type, misc]
        async def refetch_trigger_events(self, events: list[TriggerEvent]) -> list[TriggerEvent]:
            return [e.model_copy(update={"payload": {**e.payload, "state": "now"}}) for e in events]

    assert Thin.refetches_trigger_events() is True
    (done,) = await Thin(connection_context({}), None).refetch_trigger_events(events)  # type: ignore[arg-type]
    assert done.payload == {"id": 1, "state": "now"}
