"""The automation engine against real Kafka and Postgres (docs/adr/0029): a trigger-fired event
runs the tenant's enabled automations through the faust agent, once per event id however often
Kafka hands it over; template errors are the run's result; disabled automations never run; one
tenant's automations and runs are invisible to another; transient failures are retried; a loop
is cut off."""

import uuid

import pytest

from hub_common.events import IntegrationTriggerFired
from hub_common.kafka import RetryPolicy
from hub_connectors.services.automation_engine import AutomationEngine

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


async def _connection(api, auth, tenant, connector_id, key) -> str:
    body = {"connector_id": connector_id, "name": f"{connector_id}-{uuid.uuid4().hex[:6]}",
            "credentials": {"api_key": key}}  # fmt: skip
    created = await api.post("/v1/connections", json=body, headers=auth(tenant, "enterprise"))
    assert created.status_code == 201 and created.json()["status"] == "active", created.text
    return created.json()["id"]


async def _pair(api, auth, tenant) -> tuple[str, str]:
    """A trigger connection (pagerlike) and an action connection (echoapi)."""
    return (
        await _connection(api, auth, tenant, "pagerlike", "good-pd"),
        await _connection(api, auth, tenant, "echoapi", "good-echo"),
    )


async def _automation(api, auth, tenant, source, target, *, expect=201, **overrides) -> dict:
    body = {
        "name": "echo incidents",
        "trigger_connection_id": source,
        "trigger_id": "incident_triggered",
        "action_connection_id": target,
        "action_id": "echo",
        "parameters": {"message": "Incident {{ payload.id }}", "times": "{{ 1 + 1 }}"},
        **overrides,
    }
    created = await api.post("/v1/automations", json=body, headers=auth(tenant, "enterprise"))
    assert created.status_code == expect, created.text
    return created.json()


def _fired(tenant, source, payload) -> IntegrationTriggerFired:
    return IntegrationTriggerFired(
        tenant_id=tenant,
        connection_id=uuid.UUID(source),
        connector_id="pagerlike",
        trigger_id="incident_triggered",
        payload=payload,
    )


async def _runs(api, auth, tenant, automation_id) -> list[dict]:
    got = await api.get(f"/v1/automations/{automation_id}/runs", headers=auth(tenant, "enterprise"))
    assert got.status_code == 200, got.text
    return got.json()["runs"]


def _finished(runs, n):
    return len(runs) >= n and all(r["status"] != "running" for r in runs)


async def test_a_redelivered_trigger_runs_the_action_once(api, auth, tenant, container, gateway, wait_for):
    source, target = await _pair(api, auth, tenant)
    automation = await _automation(api, auth, tenant, source, target)
    producer = container.infra.producer
    event_id = str(uuid.uuid4())
    for _ in range(3):  # Kafka handing the same record over again, a replay of the topic
        await producer.publish(_fired(tenant, source, {"id": "P1"}), event_id=event_id)
    # A later event on the same connection (same partition): once it ran, the three were handled.
    await producer.publish(_fired(tenant, source, {"id": "P2"}), event_id=str(uuid.uuid4()))

    async def two_runs():
        runs = await _runs(api, auth, tenant, automation["id"])
        return runs if _finished(runs, 2) else None

    runs = await wait_for(two_runs, timeout_s=60)
    assert len(runs) == 2
    assert gateway.calls_to(target, "echo") == 2
    first = next(r for r in runs if r["trigger_event_id"] == event_id)
    assert first["status"] == "succeeded" and first["attempts"] == 1
    assert first["rendered_parameters"] == {"message": "Incident P1", "times": 2}
    assert first["result"]["success"] is True
    assert first["trigger_payload"] == {"id": "P1"}


async def test_template_errors_are_reported_per_run(api, auth, tenant, container, wait_for):
    source, target = await _pair(api, auth, tenant)
    automation = await _automation(
        api, auth, tenant, source, target, parameters={"message": "{{ payload.title | upper }}"}
    )
    producer = container.infra.producer
    await producer.publish(_fired(tenant, source, {"id": "no-title"}))
    await producer.publish(_fired(tenant, source, {"id": "x", "title": "disk full"}))

    async def two_runs():
        runs = await _runs(api, auth, tenant, automation["id"])
        return runs if _finished(runs, 2) else None

    runs = sorted(await wait_for(two_runs, timeout_s=60), key=lambda r: r["started_at"])
    assert runs[0]["status"] == "template_error" and runs[0]["error_code"] == "template_error"
    assert "message" in runs[0]["error_message"] and "title" in runs[0]["error_message"]
    assert runs[1]["status"] == "succeeded"
    assert runs[1]["rendered_parameters"] == {"message": "DISK FULL"}


async def test_a_disabled_automation_never_runs(api, auth, tenant, container, wait_for):
    source, target = await _pair(api, auth, tenant)
    disabled = await _automation(api, auth, tenant, source, target, enabled=False)
    paused = await _automation(api, auth, tenant, source, target)
    turned_off = await api.patch(
        f"/v1/automations/{paused['id']}", json={"enabled": False}, headers=auth(tenant, "enterprise")
    )
    assert turned_off.status_code == 200 and turned_off.json()["enabled"] is False
    witness = await _automation(api, auth, tenant, source, target)
    await container.infra.producer.publish(_fired(tenant, source, {"id": "P9"}))

    async def witness_ran():
        return _finished(await _runs(api, auth, tenant, witness["id"]), 1)

    await wait_for(witness_ran, timeout_s=60)
    assert await _runs(api, auth, tenant, disabled["id"]) == []
    assert await _runs(api, auth, tenant, paused["id"]) == []


async def test_automations_and_runs_are_tenant_scoped(api, auth, tenant, container, wait_for):
    source, target = await _pair(api, auth, tenant)
    automation = await _automation(api, auth, tenant, source, target)
    other = f"other-{uuid.uuid4().hex[:8]}"
    theirs = auth(other, "enterprise")
    for path in (f"/v1/automations/{automation['id']}", f"/v1/automations/{automation['id']}/runs"):
        got = await api.get(path, headers=theirs)
        assert got.status_code == 404 and got.json()["error"]["code"] == "automation_not_found"
    assert (await api.get("/v1/automations", headers=theirs)).json() == {"automations": []}
    gone = await api.delete(f"/v1/automations/{automation['id']}", headers=theirs)
    assert gone.status_code == 404
    # Another tenant cannot point an automation at this tenant's connections.
    stolen = await _automation(api, auth, other, source, target, expect=422)
    assert stolen["error"]["code"] == "invalid_automation"
    # An event claiming the other tenant with this connection's id runs nothing here.
    producer = container.infra.producer
    foreign = str(uuid.uuid4())
    await producer.publish(_fired(other, source, {"id": "foreign"}), event_id=foreign)
    await producer.publish(_fired(tenant, source, {"id": "mine"}))

    async def one_run():
        runs = await _runs(api, auth, tenant, automation["id"])
        return runs if _finished(runs, 1) else None

    runs = await wait_for(one_run, timeout_s=60)
    assert [r["trigger_payload"]["id"] for r in runs] == ["mine"]


async def test_an_automation_is_checked_before_it_is_saved(api, auth, tenant):
    source, target = await _pair(api, auth, tenant)
    cases = {
        "missing required": {"parameters": {"times": 2}},
        "bad template": {"parameters": {"message": "{{ payload.id "}},
        "statements": {"parameters": {"message": "{% for x in payload %}{{ x }}{% endfor %}"}},
        "constant of the wrong type": {"parameters": {"message": "hi", "times": "many"}},
        "unknown action": {"action_id": "nope"},
        "unknown trigger": {"trigger_id": "nope"},
        "sample renders wrong": {"parameters": {"message": "{{ payload.id }}", "times": "{{ payload.n }}"},
                                 "sample_payload": {"id": "A", "n": 99}},
    }  # fmt: skip
    for label, overrides in cases.items():
        refused = await _automation(api, auth, tenant, source, target, expect=422, **overrides)
        assert refused["error"]["code"] == "invalid_automation", label
    preview = await api.post(
        "/v1/automations/preview",
        json={"trigger_connection_id": source, "trigger_id": "incident_triggered",
              "action_connection_id": target, "action_id": "echo",
              "parameters": {"message": "New: {{ payload.id }}"}, "sample_payload": {"id": "P7"}},
        headers=auth(tenant, "enterprise"),
    )  # fmt: skip
    assert preview.status_code == 200
    assert preview.json() == {"valid": True, "parameters": {"message": "New: P7"}, "errors": []}


async def test_transient_failures_are_retried_then_recorded(api, auth, tenant, container, gateway):
    source, target = await _pair(api, auth, tenant)
    automation = await _automation(api, auth, tenant, source, target)
    engine = AutomationEngine(
        container.db,
        container.registry,
        container.actions,
        retry=RetryPolicy(attempts=3, initial_backoff_s=0.01, max_backoff_s=0.05),
    )
    before = gateway.calls_to(target, "echo")
    gateway.down = True
    try:
        assert await engine.handle(str(uuid.uuid4()), _fired(tenant, source, {"id": "P3"})) == ["failed"]
    finally:
        gateway.down = False
    assert gateway.calls_to(target, "echo") - before == 3
    [run] = await _runs(api, auth, tenant, automation["id"])
    assert run["attempts"] == 3 and run["result"]["status_code"] == 502


async def test_an_automation_feeding_its_own_trigger_is_stopped(api, auth, tenant, container):
    source, target = await _pair(api, auth, tenant)
    automation = await _automation(api, auth, tenant, source, target)
    engine = AutomationEngine(container.db, container.registry, container.actions, loop_max_runs=2)
    outcomes = [
        await engine.handle(str(uuid.uuid4()), _fired(tenant, source, {"id": f"L{i}"})) for i in range(4)
    ]
    assert outcomes == [["succeeded"], ["succeeded"], ["loop_suspected"], []]
    got = (await api.get(f"/v1/automations/{automation['id']}", headers=auth(tenant, "enterprise"))).json()
    assert got["enabled"] is False and "loop protection" in got["disabled_reason"]


async def test_a_run_cut_short_by_a_crash_is_marked_interrupted_never_repeated(
    api, auth, tenant, container, gateway
):
    source, target = await _pair(api, auth, tenant)
    automation = await _automation(api, auth, tenant, source, target)
    event_id = str(uuid.uuid4())
    # A process claimed this event's run an hour ago and died before recording the result.
    async with container.infra.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO automation_runs (id, tenant_id, automation_id, trigger_event_id, status, started_at)"
            " VALUES ($1, $2, $3, $4, 'running', now() - interval '1 hour')",
            uuid.uuid4(),
            tenant,
            uuid.UUID(automation["id"]),
            event_id,
        )
    engine = AutomationEngine(container.db, container.registry, container.actions)
    before = gateway.calls_to(target, "echo")
    assert await engine.handle(event_id, _fired(tenant, source, {"id": "P4"})) == ["duplicate"]
    assert gateway.calls_to(target, "echo") == before
    [run] = await _runs(api, auth, tenant, automation["id"])
    assert run["status"] == "interrupted" and "not retried" in run["error_message"]
