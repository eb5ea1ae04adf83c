"""Connection lifecycle over HTTP against the real Postgres, Kafka and vault: create (API key and
OAuth), health, actions, disconnect — with the events each step must emit."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hub_common.events import ConnectionStatusChanged, IntegrationConnected
from hub_common.kafka import EventProducer
from hub_common.testing import consumed, expect_events
from hub_connectors.consumers.handlers import STATUS_TOPICS

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)
GOOD_KEY = "good-key-alpha"


async def create(api, headers, **body):
    body.setdefault("connector_id", "echoapi")
    body.setdefault("name", f"conn-{uuid.uuid4().hex[:6]}")
    return await api.post("/v1/connections", json=body, headers=headers)


def matches(connection_id):
    return lambda data: data.get("connection_id") == connection_id


async def test_api_key_connection_becomes_active_and_emits_connected(
    api, auth, tenant, kafka_bootstrap, vault_as_connectors, gateway
):
    headers = auth(tenant, "teams")
    async with expect_events(
        kafka_bootstrap, "integration.connected", match=lambda d: d["tenant_id"] == tenant
    ) as seen:
        resp = await create(
            api, headers, name="primary", credentials={"api_key": GOOD_KEY}, config={"region": "eu"}
        )
        assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["status"] == "active"
    assert body["external_account_id"] == gateway.account_for(GOOD_KEY)
    assert body["external_account_name"] == "Echo User"
    assert body["last_health_check_at"] and body["last_health_check_status"] is True
    assert body["last_health_check_latency_ms"] is not None and body["connected_at"]
    assert body["config"] == {"region": "eu"} and body["base_url"] == "https://api.echo.test"
    assert GOOD_KEY not in resp.text  # the credential is never returned
    event = seen[0].data
    assert event["connection_id"] == body["id"] and event["connector_id"] == "echoapi"
    assert event["external_account_id"] == gateway.account_for(GOOD_KEY) and event["auth_method"] == "api_key"
    assert seen[0].key == body["id"].encode()
    assert GOOD_KEY not in json.dumps(event)
    # The credential sits in the vault (connectors may list keys, never read values) and the
    # stand-in gateway read it as the gateway: the health check went through the gateway route.
    assert await vault_as_connectors.list_keys(tenant, body["id"]) == ["api_key"]
    assert gateway.calls_to(body["id"], "me") >= 1
    assert {c for c, _, who in gateway.calls if c == body["id"]} and all(
        who == "connectors" for c, _, who in gateway.calls if c == body["id"]
    )

    got = await api.get(f"/v1/connections/{body['id']}", headers=headers)
    assert got.status_code == 200 and got.json()["status"] == "active"
    listed = await api.get("/v1/connections", headers=headers)
    assert [c["id"] for c in listed.json()["connections"]] == [body["id"]]
    assert (await api.get("/v1/connections?category=communication", headers=headers)).json()["connections"]
    assert (await api.get("/v1/connections?category=ai", headers=headers)).json()["connections"] == []


async def test_rejected_and_unreachable_credentials(api, auth, tenant, gateway):
    headers = auth(tenant, "teams")
    rejected = (await create(api, headers, credentials={"api_key": "bad-key"})).json()
    assert rejected["status"] == "token_invalid"
    assert rejected["last_error"] == "Bad credentials" and rejected["last_health_check_status"] is False

    gateway.down = True
    try:
        unreachable = (await create(api, headers, credentials={"api_key": GOOD_KEY})).json()
    finally:
        gateway.down = False
    assert unreachable["status"] == "error"
    assert unreachable["last_error"] == "provider did not answer"

    # Recovery on demand: the provider is back, the check moves it to active with an event.
    check = await api.post(f"/v1/connections/{unreachable['id']}/health", headers=headers)
    assert check.status_code == 200, check.text
    assert check.json()["health"]["is_healthy"] is True
    assert check.json()["connection"]["status"] == "active"


async def test_bad_input_is_refused_with_machine_readable_codes(api, auth, tenant):
    headers = auth(tenant, "teams")
    cases = [
        ({"connector_id": "nope"}, 404, "connector_not_found"),
        ({"credentials": {}}, 422, "invalid_credentials"),
        ({"credentials": {"api_key": "UPPER CASE"}}, 422, "invalid_credentials"),
        ({"credentials": {"api_key": GOOD_KEY, "other": "x"}}, 422, "invalid_credentials"),
        ({"credentials": {"api_key": GOOD_KEY}, "config": {"region": "mars"}}, 422, "invalid_config"),
        ({"credentials": {"api_key": GOOD_KEY}, "config": {"api_token": "x"}}, 422, "invalid_config"),
        # Secrets named in camelCase are secrets too; NUL is refused at the edge (cannot be stored).
        ({"credentials": {"api_key": GOOD_KEY}, "config": {"clientSecret": "x"}}, 422, "invalid_config"),
        ({"credentials": {"api_key": GOOD_KEY}, "config": {"region": "eu\u0000"}}, 422, "invalid_character"),
        (
            {"credentials": {"api_key": GOOD_KEY}, "config": {"base_url": "https://evil.test"}},
            422,
            "host_not_allowed",
        ),
        (
            {"connector_id": "oauththing", "credentials": {"api_key": GOOD_KEY}},
            422,
            "credentials_not_accepted",
        ),
        ({"name": ""}, 422, "validation_error"),
        ({"surprise": 1}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        resp = await create(api, headers, **body)
        assert resp.status_code == status, (body, resp.text)
        assert resp.json()["error"]["code"] == code, (body, resp.text)
        assert "UPPER CASE" not in resp.text and GOOD_KEY not in resp.text
    unauthenticated = await api.get("/v1/connections")
    assert unauthenticated.status_code == 401
    huge = await create(api, headers, credentials={"api_key": GOOD_KEY}, config={"note": "x" * (1 << 20)})
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "payload_too_large"
    assert (await api.get("/v1/connections", headers=headers)).json()["connections"] == []


async def test_names_are_unique_per_user_and_connector_until_disconnected(api, auth, tenant):
    alice, bob = auth(tenant, "teams", "alice"), auth(tenant, "teams", "bob")
    first = await create(api, alice, name="work", credentials={"api_key": GOOD_KEY})
    assert first.status_code == 201
    again = await create(api, alice, name="work", credentials={"api_key": GOOD_KEY})
    assert again.status_code == 409 and again.json()["error"]["code"] == "name_taken"
    assert (await create(api, bob, name="work", credentials={"api_key": GOOD_KEY})).status_code == 201
    assert (await create(api, alice, connector_id="oauththing", name="work")).status_code == 201
    assert (await api.delete(f"/v1/connections/{first.json()['id']}", headers=alice)).status_code == 200
    assert (await create(api, alice, name="work", credentials={"api_key": GOOD_KEY})).status_code == 201


async def test_actions_run_validate_and_emit(api, auth, tenant, kafka_bootstrap):
    headers = auth(tenant, "teams")
    cid = (await create(api, headers, credentials={"api_key": GOOD_KEY})).json()["id"]

    async with expect_events(kafka_bootstrap, "integration.action-executed", match=matches(cid)) as seen:
        resp = await api.post(
            f"/v1/connections/{cid}/actions/echo",
            json={"parameters": {"message": "hi", "times": 2}},
            headers=headers,
        )
    assert resp.status_code == 200, resp.text
    result = resp.json()
    assert result["success"] is True and result["data"] == {"echo": {"message": "hihi"}}
    assert result["duration_ms"] >= 0
    event = seen[0].data
    assert event["action_id"] == "echo" and event["connector_id"] == "echoapi"
    assert event["result"]["success"] is True and event["duration_ms"] >= 0

    async with expect_events(kafka_bootstrap, "integration.action-executed", match=matches(cid)) as seen:
        big = await api.post(
            f"/v1/connections/{cid}/actions/big", json={"parameters": {"kb": 64}}, headers=headers
        )
    assert len(big.json()["data"]["blob"]) == 64 * 1024  # the caller gets everything
    assert seen[0].data["result"]["data"]["truncated"] is True  # the event stays small

    invalid = await api.post(
        f"/v1/connections/{cid}/actions/echo", json={"parameters": {"times": "many"}}, headers=headers
    )
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "invalid_parameters"
    rules = {e["rule"] for e in invalid.json()["error"]["details"]["errors"]}
    assert rules == {"required", "type"} and "many" not in invalid.text
    unknown = await api.post(f"/v1/connections/{cid}/actions/nope", json={}, headers=headers)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_action"


async def test_actions_need_an_active_connection(api, auth, tenant):
    headers = auth(tenant, "teams")
    cid = (await create(api, headers, credentials={"api_key": "bad-key"})).json()["id"]
    resp = await api.post(
        f"/v1/connections/{cid}/actions/echo", json={"parameters": {"message": "x"}}, headers=headers
    )
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "connection_not_active"
    assert resp.json()["error"]["details"] == {"status": "token_invalid"}


async def test_disconnect_deletes_credentials_and_emits_once(
    api, auth, tenant, kafka_bootstrap, vault_as_connectors
):
    headers = auth(tenant, "teams")
    cid = (await create(api, headers, credentials={"api_key": GOOD_KEY})).json()["id"]
    assert await vault_as_connectors.list_keys(tenant, cid) == ["api_key"]

    async with expect_events(
        kafka_bootstrap, "integration.disconnected", match=matches(cid), exact=True
    ) as seen:
        first = await api.delete(f"/v1/connections/{cid}", headers=headers)
        second = await api.delete(f"/v1/connections/{cid}", headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json()["status"] == "disconnected" and first.json()["disconnected_at"]
    assert seen[0].data["connector_id"] == "echoapi" and seen[0].data["reason"] == "user"
    assert await vault_as_connectors.list_keys(tenant, cid) == []
    assert (await api.get("/v1/connections", headers=headers)).json()["connections"] == []
    listed = await api.get("/v1/connections?include_disconnected=true", headers=headers)
    assert [c["status"] for c in listed.json()["connections"]] == ["disconnected"]
    action = await api.post(
        f"/v1/connections/{cid}/actions/echo", json={"parameters": {"message": "x"}}, headers=headers
    )
    assert action.status_code == 409
    health = await api.post(f"/v1/connections/{cid}/health", headers=headers)
    assert health.status_code == 409


@pytest.fixture
async def oauth_producer(kafka_bootstrap):
    producer = EventProducer(kafka_bootstrap, source="/integration-hub/oauth")
    await producer.start()
    yield producer
    await producer.stop()


async def test_oauth_connection_is_activated_by_the_oauth_services_event(
    api, auth, tenant, oauth_producer, wait_for, gateway, settings, kafka_bootstrap
):
    headers = auth(tenant, "teams")

    def status_handled():
        """The sentinel for "changed nothing": the status consumer has committed past the event."""
        group = f"{settings.connectors_consumer_group_prefix}.connection-status"
        return consumed(kafka_bootstrap, group, STATUS_TOPICS)

    created = await create(api, headers, connector_id="oauththing", name="jira")
    assert created.status_code == 201
    conn = created.json()
    assert conn["status"] == "initializing" and conn["external_account_id"] is None
    cid = uuid.UUID(conn["id"])
    pending = await api.post(f"/v1/connections/{cid}/actions/ping", json={}, headers=headers)
    assert pending.status_code == 409 and pending.json()["error"]["details"]["status"] == "initializing"

    async def status():
        body = (await api.get(f"/v1/connections/{cid}", headers=headers)).json()
        return body if body["status"] == "active" and body["external_account_id"] else None

    def connected(account, tenant_id=tenant, connection_id=cid, connector="oauththing"):
        return IntegrationConnected(
            tenant_id=tenant_id,
            connection_id=connection_id,
            connector_id=connector,
            external_account_id=account,
        )

    # Events for another tenant's view of this id, or another connector, change nothing.
    await oauth_producer.publish(connected("intruder", tenant_id="other-tenant"))
    await oauth_producer.publish(connected("intruder", connector="echoapi"))
    await oauth_producer.publish(connected("ghost", connection_id=uuid.uuid4()))
    event_id = str(uuid.uuid4())
    await oauth_producer.publish(connected("acct-A"), event_id=event_id)
    body = await wait_for(status)
    assert body["external_account_id"] == "acct-A" and body["connected_at"]

    # A redelivery (same ce_id) is ignored; a later event on the same key is applied after it.
    await oauth_producer.publish(connected("acct-B"), event_id=event_id)
    await oauth_producer.publish(connected("acct-C"))

    async def account_c():
        body = (await api.get(f"/v1/connections/{cid}", headers=headers)).json()
        return body["external_account_id"] == "acct-C"

    await wait_for(account_c)

    # oauth reports invalid_grant: the connection needs the user again.
    def status_changed(status, **extra):
        return ConnectionStatusChanged(
            tenant_id=tenant, connection_id=cid, connector_id="oauththing", status=status, **extra
        )

    await oauth_producer.publish(
        status_changed("token_invalid", previous_status="active", reason="invalid_grant")
    )

    async def invalid():
        body = (await api.get(f"/v1/connections/{cid}", headers=headers)).json()
        return body if body["status"] == "token_invalid" else None

    body = await wait_for(invalid)
    assert body["last_error"] == "invalid_grant"

    # A report older than the last change is stale (the two topics are not ordered together).
    old = datetime.now(UTC) - timedelta(minutes=5)
    await oauth_producer.publish(connected("acct-stale").model_copy(update={"timestamp": old}))
    await oauth_producer.publish(connected("acct-D"))

    async def reconnected():
        body = (await api.get(f"/v1/connections/{cid}", headers=headers)).json()
        return body if body["status"] == "active" else None

    body = await wait_for(reconnected)
    assert body["external_account_id"] == "acct-D" and body["last_error"] is None

    # The user reconnects the same account while an earlier "token_invalid" is still in flight:
    # the reconnect changes nothing visible but makes that older report stale.
    before_reconnect = datetime.now(UTC)
    later = before_reconnect + timedelta(milliseconds=1)
    await oauth_producer.publish(connected("acct-D").model_copy(update={"timestamp": later}))

    async def reconnect_seen():
        body = (await api.get(f"/v1/connections/{cid}", headers=headers)).json()
        return datetime.fromisoformat(body["status_changed_at"]) > before_reconnect

    await wait_for(reconnect_seen)
    async with status_handled():
        await oauth_producer.publish(
            status_changed("token_invalid", reason="invalid_grant").model_copy(
                update={"timestamp": before_reconnect}
            )
        )
    still = (await api.get(f"/v1/connections/{cid}", headers=headers)).json()
    assert still["status"] == "active", still

    # Disconnect asks oauth to revoke at the provider first (service token, its own route).
    assert (await api.delete(f"/v1/connections/{cid}", headers=headers)).status_code == 200
    assert (str(cid), "connectors") in gateway.revocations
    async with status_handled():
        await oauth_producer.publish(connected("acct-late"))
    late = (await api.get(f"/v1/connections/{cid}", headers=headers)).json()
    assert late["status"] == "disconnected" and late["external_account_id"] == "acct-D"


async def test_an_oauth_connect_is_health_checked_and_a_revoke_reads_as_token_invalid(
    api, auth, tenant, oauth_producer, wait_for, gateway
):
    headers = auth(tenant, "teams")
    cid = uuid.UUID((await create(api, headers, connector_id="oauththing")).json()["id"])
    # oauth could not name the account (no identity endpoint, nothing in the token answer).
    await oauth_producer.publish(
        IntegrationConnected(
            tenant_id=tenant, connection_id=cid, connector_id="oauththing", external_account_id="unknown"
        )
    )

    async def checked():
        body = (await api.get(f"/v1/connections/{cid}", headers=headers)).json()
        return body if body["last_health_check_at"] else None

    # As on the API-key path, a health check follows; the connector's identity names the account.
    body = await wait_for(checked)
    assert body["status"] == "active" and body["external_account_id"] == "oauth-user"
    assert gateway.calls_to(str(cid), "user") == 1

    # oauth reports the revoke; the connection follows it.
    await oauth_producer.publish(
        ConnectionStatusChanged(
            tenant_id=tenant,
            connection_id=cid,
            connector_id="oauththing",
            status="token_invalid",
            previous_status="active",
            reason="revoked",
        )
    )

    async def invalid():
        body = (await api.get(f"/v1/connections/{cid}", headers=headers)).json()
        return body if body["status"] == "token_invalid" else None

    assert (await wait_for(invalid))["last_error"] == "revoked"
    # A manual check, which the gateway cannot serve, says the credentials are the problem.
    gateway.down = True
    try:
        resp = await api.post(f"/v1/connections/{cid}/health", headers=headers)
    finally:
        gateway.down = False
    assert resp.status_code == 200, resp.text
    assert resp.json()["connection"]["status"] == "token_invalid"
    assert resp.json()["health"]["credentials_invalid"] is True
    # An action answers 409 connection_not_active, as the README says.
    action = await api.post(f"/v1/connections/{cid}/actions/ping", json={}, headers=headers)
    assert action.status_code == 409 and action.json()["error"]["code"] == "connection_not_active"
