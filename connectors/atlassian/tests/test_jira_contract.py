"""Every Jira action's requests validate against jira-platform-v3.json (the SDK's contract
harness through :class:`conftest.SiteContract`: method, path, query, headers and body of each
request, and the answers too); search follows ``nextPageToken``; Atlassian error bodies and
rate limits become clear action errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub_connector_atlassian import JiraConnector, JiraTokenConnector
from hub_connector_sdk.testkit import GatewayStub, StubRequest, run_action, run_export, run_health_check

pytestmark = pytest.mark.unit
CLOUD_ID = "11111111-2222-4333-8444-555555555555"  # as in conftest
CONFIG = {"cloud_id": CLOUD_ID, "webhook_jql": "project = PROJ"}
SITE = f"https://api.atlassian.com/ex/jira/{CLOUD_ID}"
ISSUE = "/ex/jira/{cloud_id}/rest/api/3/issue/{key}"
TESTED: set[str] = set()


def issue_json(key: str = "PROJ-7", **fields: Any) -> dict[str, Any]:
    return {
        "id": "10007",
        "key": key,
        "self": f"{SITE}/rest/api/3/issue/10007",
        "fields": {
            "summary": "Checkout fails",
            "description": {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Steps below"}]}],
            },
            "status": {"id": "10000", "name": "To Do"},
            "issuetype": {"name": "Bug"},
            "project": {"key": "PROJ"},
            "labels": ["web"],
            "assignee": None,
            "reporter": {"accountId": "712020:abc", "displayName": "Ada"},
            "created": "2026-12-01T10:00:00.000+0000",
            "updated": "2026-12-02T10:00:00.000+0000",
            **fields,
        },
    }


async def act(stub: GatewayStub, action_id: str, params: dict[str, Any], **kw: Any) -> Any:
    TESTED.add(action_id)
    result = await run_action(JiraConnector, action_id, params, stub=stub, config=kw.get("config", CONFIG))
    assert result.success, result
    return result.data


async def test_create_issue_sends_markdown_as_adf(jira_stub):
    answer = {"id": "10007", "key": "PROJ-7", "self": f"{SITE}/rest/api/3/issue/10007"}
    jira_stub.route("POST", "/ex/jira/{cloud_id}/rest/api/3/issue", (201, answer))
    params = {
        "project_key": "PROJ",
        "summary": "Checkout fails",
        "issue_type": "Bug",
        "description": "It **breaks**:\n\n- step one\n- step two",
        "labels": ["web"],
    }
    data = await act(jira_stub, "create_issue", params)
    assert data == {"id": "10007", "key": "PROJ-7", "api_url": answer["self"]}
    (call,) = jira_stub.calls
    assert call.path == f"/ex/jira/{CLOUD_ID}/rest/api/3/issue"
    fields = call.json["fields"]
    assert fields["project"] == {"key": "PROJ"} and fields["issuetype"] == {"name": "Bug"}
    doc = fields["description"]
    assert doc["type"] == "doc" and doc["version"] == 1
    assert doc["content"][0]["content"][1] == {
        "type": "text",
        "text": "breaks",
        "marks": [{"type": "strong"}],
    }
    assert doc["content"][1]["type"] == "bulletList" and len(doc["content"][1]["content"]) == 2


async def test_update_issue_sends_only_the_fields_given(jira_stub):
    jira_stub.route("PUT", ISSUE, status=204)
    data = await act(jira_stub, "update_issue", {"issue_key": "PROJ-7", "summary": "New title"})
    assert data == {"key": "PROJ-7", "changed": ["summary"]}
    assert jira_stub.calls[0].json == {"fields": {"summary": "New title"}}


async def test_add_comment_turns_the_answer_back_into_text(jira_stub):
    def created(req: StubRequest) -> tuple[int, Any]:
        return 201, {
            "id": "100",
            "self": f"{SITE}/rest/api/3/issue/10007/comment/100",
            "body": req.json["body"],
            "author": {"accountId": "712020:abc", "displayName": "Ada"},
            "created": "2026-12-02T10:00:00.000+0000",
        }

    jira_stub.route("POST", ISSUE + "/comment", created)
    data = await act(
        jira_stub, "add_comment", {"issue_key": "PROJ-7", "body": "Fixed in `v2`, see [docs](https://x.test)"}
    )
    assert data["body"] == "Fixed in v2, see docs" and data["author"] == "Ada"


async def test_transition_issue_by_target_status_name(jira_stub):
    transitions = {
        "transitions": [
            {"id": "21", "name": "Start progress", "to": {"id": "10001", "name": "In Progress"}},
            {"id": "31", "name": "Finish", "to": {"id": "10002", "name": "Done"}},
        ]
    }
    jira_stub.route("GET", ISSUE + "/transitions", transitions)
    jira_stub.route("POST", ISSUE + "/transitions", status=204)
    data = await act(
        jira_stub, "transition_issue", {"issue_key": "PROJ-7", "to_status": "done", "comment": "Shipped"}
    )
    assert data == {"key": "PROJ-7", "transition_id": "31", "transition": "Finish", "to_status": "Done"}
    sent = jira_stub.calls[1].json
    assert sent["transition"] == {"id": "31"} and sent["update"]["comment"][0]["add"]["body"]["type"] == "doc"


async def test_transition_to_an_unavailable_status_names_the_available_ones(jira_stub):
    jira_stub.route(
        "GET",
        ISSUE + "/transitions",
        {"transitions": [{"id": "21", "name": "Start", "to": {"name": "In Progress"}}]},
    )
    result = await run_action(
        JiraConnector,
        "transition_issue",
        {"issue_key": "PROJ-7", "to_status": "Done"},
        stub=jira_stub,
        config=CONFIG,
    )
    assert (
        result.error_code == "transition_not_available" and "Start → In Progress (21)" in result.error_message
    )


async def test_assign_issue(jira_stub):
    jira_stub.route("PUT", ISSUE + "/assignee", status=204)
    data = await act(jira_stub, "assign_issue", {"issue_key": "PROJ-7", "account_id": "712020:abc"})
    assert data == {"key": "PROJ-7", "account_id": "712020:abc"}
    assert jira_stub.calls[0].json == {"accountId": "712020:abc"}


async def test_search_issues_follows_next_page_token(jira_stub):
    def page(req: StubRequest) -> tuple[int, Any]:
        n = int(req.param("nextPageToken") or 0)
        body: dict[str, Any] = {
            "issues": [issue_json(f"PROJ-{n + i + 1}") for i in range(2)],
            "isLast": n >= 4,
        }
        if n < 4:
            body["nextPageToken"] = str(n + 2)
        return 200, body

    jira_stub.route("GET", "/ex/jira/{cloud_id}/rest/api/3/search/jql", page)
    data = await act(jira_stub, "search_issues", {"jql": "project = PROJ", "max_items": 5, "page_size": 2})
    assert [i["key"] for i in data["issues"]] == ["PROJ-1", "PROJ-2", "PROJ-3", "PROJ-4", "PROJ-5"]
    assert data["truncated"] is True
    assert data["issues"][0]["description"] == "Steps below" and data["issues"][0]["status"] == "To Do"
    assert [c.param("nextPageToken") for c in jira_stub.calls] == [None, "2", "4"]


async def test_jira_error_bodies_become_clear_action_errors(jira_stub):
    body = {"errorMessages": [], "errors": {"summary": "You must specify a summary of the issue."}}
    jira_stub.route("POST", "/ex/jira/{cloud_id}/rest/api/3/issue", status=400, json=body)
    result = await run_action(
        JiraConnector, "create_issue", {"project_key": "PROJ", "summary": "x"}, stub=jira_stub, config=CONFIG
    )
    assert result.success is False and result.status_code == 400
    assert result.error_message == "summary: You must specify a summary of the issue."


async def test_a_429_is_provider_rate_limited_with_retry_after():
    stub = GatewayStub()  # 429 is not among the operation's documented answers
    reset = (datetime.now(UTC) + timedelta(seconds=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    stub.route(
        "GET",
        "/ex/jira/{cloud_id}/rest/api/3/search/jql",
        status=429,
        json={"errorMessages": ["Rate limited"]},
        headers={"Retry-After": "7", "X-RateLimit-Reset": reset, "RateLimit-Reason": "jira-burst-based"},
    )
    result = await run_action(
        JiraConnector, "search_issues", {"jql": "project = PROJ"}, stub=stub, config=CONFIG
    )
    assert result.error_code == "provider_rate_limited" and result.retry_after_s == 7
    assert "jira-burst-based" in result.error_message


async def test_without_cloud_id_the_only_site_is_used_and_several_are_refused():
    site = {"id": CLOUD_ID, "name": "acme", "url": "https://acme.atlassian.net", "scopes": ["read:jira-work"]}
    stub = GatewayStub(connection_id="conn_one")
    stub.route("GET", "/oauth/token/accessible-resources", [site])
    stub.route(
        "GET", "/ex/jira/{cloud_id}/rest/api/3/myself", {"accountId": "712020:abc", "displayName": "Ada"}
    )
    health = await run_health_check(JiraConnector, stub=stub, config={})
    assert health.is_healthy and health.account_info["cloud_id"] == CLOUD_ID
    assert (
        health.account_info["site"] == "https://acme.atlassian.net"
        and health.account_info["id"] == "712020:abc"
    )

    two = GatewayStub(connection_id="conn_two")
    two.route(
        "GET",
        "/oauth/token/accessible-resources",
        [site, {**site, "id": "99999999-2222-4333-8444-555555555555", "url": "https://b.atlassian.net"}],
    )
    result = await run_action(JiraConnector, "search_issues", {"jql": "project = PROJ"}, stub=two, config={})
    assert (
        result.error_code == "site_required" and "https://b.atlassian.net (99999999-" in result.error_message
    )
    picked = GatewayStub(connection_id="conn_three")
    picked.route(
        "GET",
        "/oauth/token/accessible-resources",
        [site, {**site, "id": "99999999-2222-4333-8444-555555555555", "url": "https://b.atlassian.net"}],
    )
    picked.route("GET", "/ex/jira/{cloud_id}/rest/api/3/search/jql", {"issues": [], "isLast": True})
    ok = await run_action(
        JiraConnector,
        "search_issues",
        {"jql": "project = PROJ"},
        stub=picked,
        config={"site_url": "https://b.atlassian.net/"},
    )
    assert ok.success and picked.calls[-1].path.startswith("/ex/jira/99999999-")


async def test_api_token_connector_calls_the_site_without_a_prefix(jira_stub):
    jira_stub.route("GET", "/rest/api/3/myself", {"accountId": "5b10ac8d", "displayName": "Bot"})
    health = await run_health_check(
        JiraTokenConnector, stub=jira_stub, config={"base_url": "https://acme.atlassian.net"}
    )
    assert health.is_healthy and health.account_info == {"id": "5b10ac8d", "name": "Bot"}


async def test_dynamic_webhook_registration_refresh_and_removal(jira_stub):
    jira_stub.route(
        "POST",
        "/ex/jira/{cloud_id}/rest/api/3/webhook",
        {"webhookRegistrationResult": [{"createdWebhookId": 42}]},
    )
    expiry = int((datetime.now(UTC) + timedelta(days=30)).timestamp() * 1000)
    jira_stub.route("PUT", "/ex/jira/{cloud_id}/rest/api/3/webhook/refresh", {"expirationDate": expiry})
    jira_stub.route("DELETE", "/ex/jira/{cloud_id}/rest/api/3/webhook", status=202)
    connector = jira_stub.connector(JiraConnector, config=CONFIG)
    hook = await connector.register_webhook(
        ["status_changed", "comment_created"], "https://hub.test/webhooks/jira/r1", "unused"
    )
    assert hook.external_id == "42" and hook.events == ["comment_created", "jira:issue_updated"]
    assert int(hook.expires_at.timestamp() * 1000) == expiry  # type: ignore[union-attr]
    assert jira_stub.calls[0].json == {
        "url": "https://hub.test/webhooks/jira/r1",
        "webhooks": [{"events": ["comment_created", "jira:issue_updated"], "jqlFilter": "project = PROJ"}],
    }
    assert jira_stub.calls[1].json == {"webhookIds": [42]}
    await connector.unregister_webhook(hook)
    assert jira_stub.calls[2].method == "DELETE" and jira_stub.calls[2].json == {"webhookIds": [42]}


async def test_export_pages_with_comments_and_resumes_incrementally(jira_stub):
    comment = {
        "id": "1",
        "author": {"displayName": "Bo"},
        "created": "2026-12-02T11:00:00.000+0000",
        "body": {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Seen it"}]}],
        },
    }

    def page(req: StubRequest) -> tuple[int, Any]:
        token = req.param("nextPageToken")
        issue = issue_json(
            "PROJ-1" if token is None else "PROJ-2", comment={"comments": [comment], "total": 1}
        )
        return 200, (
            {"issues": [issue], "nextPageToken": "p2", "isLast": False}
            if token is None
            else {"issues": [issue], "isLast": True}
        )

    jira_stub.route("GET", "/ex/jira/{cloud_id}/rest/api/3/search/jql", page)
    first = await run_export(JiraConnector, stub=jira_stub, config={**CONFIG, "export_jql": "project = PROJ"})
    assert first.has_more and first.documents[0].id == "PROJ-1"
    assert first.documents[0].text == "Steps below\n\nBo (2026-12-02T11:00:00.000+0000):\nSeen it"
    second = await run_export(
        JiraConnector, first.cursor, stub=jira_stub, config={**CONFIG, "export_jql": "project = PROJ"}
    )
    assert not second.has_more and second.documents[0].id == "PROJ-2"
    assert jira_stub.calls[1].param("nextPageToken") == "p2"  # resumed from the cursor
    assert (
        jira_stub.calls[0].param("jql")
        == '(project = PROJ) AND updated >= "1970/01/01 00:00" ORDER BY updated ASC'
    )
    await run_export(JiraConnector, second.cursor, stub=jira_stub, config=CONFIG)
    assert (
        jira_stub.calls[2].param("jql") == 'updated >= "2026/12/01 19:00" ORDER BY updated ASC'
    )  # since newest - 15 h


async def test_the_incremental_export_starts_from_the_newest_update_whatever_its_offset(jira_stub):
    later_in_utc = issue_json("PROJ-2", updated="2026-12-02T08:00:00.000-0500")  # 13:00 UTC
    page = {"issues": [issue_json("PROJ-1"), later_in_utc], "isLast": True}
    jira_stub.route("GET", "/ex/jira/{cloud_id}/rest/api/3/search/jql", page)
    done = await run_export(JiraConnector, stub=jira_stub, config=CONFIG)
    await run_export(JiraConnector, done.cursor, stub=jira_stub, config=CONFIG)
    assert jira_stub.calls[1].param("jql") == 'updated >= "2026/12/01 22:00" ORDER BY updated ASC'


async def test_a_spec_violation_fails_the_contract(jira_stub):
    """The harness is live: a request jira-platform-v3.json does not allow is refused."""
    from hub_connector_sdk.testkit import SpecViolation

    with pytest.raises(SpecViolation):
        await jira_stub.client().get(
            f"ex/jira/{CLOUD_ID}/rest/api/3/search/jql", params={"maxResults": "many"}
        )


def test_every_action_is_covered():
    # Runs last in this module (pytest keeps file order).
    assert {a.id for a in JiraConnector.manifest().actions} == TESTED
