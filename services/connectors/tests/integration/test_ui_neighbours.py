"""What the UI shows and does with the connectors service's neighbours, stood in (docs/adr/0029):
the gateway's rate-limit status and the webhooks service's registrations on a connection's page,
a manual registration's URL, secret and steps; automations with a webhook trigger get a
registration when saved (auto where the connector registers hooks, else manual with the steps),
and the last one on a trigger takes what was made for it along when deleted; the builder names
each trigger's connection."""

import re

import pytest

from .conftest import ui_sign_in

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


async def _connection(api, auth, tenant, connector_id, key, name=None) -> str:
    body = {"connector_id": connector_id, "name": name or connector_id, "credentials": {"api_key": key}}
    created = await api.post("/v1/connections", json=body, headers=auth(tenant, "enterprise"))
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def test_the_connection_page_shows_rate_limits_and_registrations_with_their_steps(
    browser, settings, tenant, api, auth, gateway, webhooks
):
    csrf = await ui_sign_in(browser, settings, tenant)
    cid = await _connection(api, auth, tenant, "pagerlike", "good-pd")
    page = (await browser.get(f"/ui/connections/{cid}")).text
    assert 'id="h-rate"' in page and "4321 of 5000 requests" in page and "Not limited" in page
    assert "Provider: core" in page and "Hub quota (connection)" in page
    assert (cid, "rate-limit", f"connectors:{tenant}") in gateway.calls  # its token, the tenant named
    assert "No webhook registration" in page

    gateway.rate_limited.add(cid)
    page = (await browser.get(f"/ui/connections/{cid}")).text
    assert "Blocked until" in page and "2031-01-02 03:09:00 UTC" in page

    # A manual registration from the page: its URL, secret (this once) and steps are the answer.
    made = await browser.post(
        f"/ui/connections/{cid}/webhooks",
        data={"csrf_token": csrf, "trigger_ids": "incident_triggered", "mode": "manual"},
    )
    assert made.status_code == 200, made.text
    [registration] = webhooks.of(tenant)
    assert f"whsec-{registration['id'][:8]}-shown-once" in made.text
    assert f"/webhooks/registrations/{registration['id']}/secret" in made.text  # the id, not "{id}"
    assert 'id="webhook-steps"' in made.text and made.headers["cache-control"] == "no-store"
    page = (await browser.get(f"/ui/connections/{cid}")).text
    assert "incident_triggered</strong> — set up by hand" in page and registration["id"] in page
    assert "shown-once" not in page  # never again
    assert ("POST", tenant, "alice") in webhooks.calls

    # A provider that issues its own secret: the page asks for it until it is stored.
    registration["status"] = "pending_secret"
    page = (await browser.get(f"/ui/connections/{cid}")).text
    assert "Waiting for the provider's signing secret" in page and f'id="secret-{registration["id"]}"' in page
    stored = await browser.post(
        f"/ui/connections/{cid}/webhooks/{registration['id']}/secret",
        data={"csrf_token": csrf, "secret": "provider-issued-secret"},
    )
    assert stored.status_code == 303 and "Signing+secret+stored" in stored.headers["location"]
    assert registration["status"] == "active"
    assert f'id="secret-{registration["id"]}"' not in (await browser.get(f"/ui/connections/{cid}")).text

    # Without the CSRF token nothing is registered.
    refused = await browser.post(
        f"/ui/connections/{cid}/webhooks", data={"trigger_ids": "incident_triggered"}
    )
    assert refused.status_code == 403 and len(webhooks.of(tenant)) == 1


async def _save(browser, csrf, source, target, name, sample='{"id": "P5"}'):
    return await browser.post(
        "/ui/automations/new",
        data={"csrf_token": csrf, "trigger": f"{source}:incident_triggered", "action": f"{target}:echo",
              "intent": "save", "name": name, "enabled": "on", "param.message": "Incident {{ payload.id }}",
              "sample_payload": sample},
    )  # fmt: skip


async def test_saving_an_automation_ensures_its_webhook_and_the_last_one_removes_it(
    browser, settings, tenant, api, auth, webhooks
):
    csrf = await ui_sign_in(browser, settings, tenant)
    source = await _connection(api, auth, tenant, "pagerlike", "good-pd")
    target = await _connection(api, auth, tenant, "echoapi", "good-echo")

    first = await _save(browser, csrf, source, target, "first")
    assert first.status_code == 303 and "registered+at+the+provider" in first.headers["location"]
    [made] = webhooks.of(tenant)
    assert (made["mode"], made["trigger_ids"], made["connection_id"]) == (
        "auto",
        ["incident_triggered"],
        source,
    )
    # A second automation on the same trigger uses the same registration.
    second = await _save(browser, csrf, source, target, "second")
    assert second.status_code == 303 and len(webhooks.of(tenant)) == 1

    listed = (await api.get("/v1/automations", headers=auth(tenant, "enterprise"))).json()["automations"]
    ids = {a["name"]: a["id"] for a in listed}
    h = auth(tenant, "enterprise")
    assert (await api.delete(f"/v1/automations/{ids['first']}", headers=h)).status_code == 204
    assert len(webhooks.of(tenant)) == 1  # "second" still needs it
    assert (await api.delete(f"/v1/automations/{ids['second']}", headers=h)).status_code == 204
    assert webhooks.of(tenant) == []  # made for automations only: gone with the last one

    # A registration a user made is never taken away by an automation.
    mine = await browser.post(
        f"/ui/connections/{source}/webhooks",
        data={"csrf_token": csrf, "trigger_ids": "incident_triggered", "mode": "auto"},
    )
    assert mine.status_code == 303
    body = {"name": "third", "trigger_connection_id": source, "trigger_id": "incident_triggered",
            "action_connection_id": target, "action_id": "echo", "parameters": {"message": "x"}}  # fmt: skip
    third = await api.post("/v1/automations", json=body, headers=h)
    assert third.status_code == 201 and third.json()["webhook_registration"]["created"] is False
    assert (await api.delete(f"/v1/automations/{third.json()['id']}", headers=h)).status_code == 204
    assert len(webhooks.of(tenant)) == 1


async def test_a_provider_configured_by_hand_gets_the_steps_when_the_automation_is_saved(
    browser, settings, tenant, api, auth, webhooks
):
    csrf = await ui_sign_in(browser, settings, tenant)
    source = await _connection(api, auth, tenant, "pagerlike", "good-pd")
    target = await _connection(api, auth, tenant, "echoapi", "good-echo")
    webhooks.refuse_auto = True
    try:
        saved = await _save(browser, csrf, source, target, "by hand")
    finally:
        webhooks.refuse_auto = False
    assert saved.status_code == 200, saved.text
    [made] = webhooks.of(tenant)
    assert made["mode"] == "manual"
    assert "Automation saved: one more step" in saved.text and "shown-once" in saved.text
    assert 'id="webhook-url"' in saved.text and "Go to the automation" in saved.text


async def test_the_builder_names_each_triggers_connection(browser, settings, tenant, api, auth):
    await ui_sign_in(browser, settings, tenant)
    await _connection(api, auth, tenant, "pagerlike", "good-pd-a", name="Ops pager")
    await _connection(api, auth, tenant, "pagerlike", "good-pd-b", name="Dev pager")
    page = (await browser.get("/ui/automations/new")).text
    options = re.findall(r'<option value="[0-9a-f-]+:incident_triggered"[^>]*>([^<]+)</option>', page)
    assert sorted(options) == ["Dev pager: Incident triggered", "Ops pager: Incident triggered"], options


async def test_moving_an_automation_to_another_trigger_moves_its_registration(api, auth, tenant, webhooks):
    h = auth(tenant, "enterprise")
    first = await _connection(api, auth, tenant, "pagerlike", "good-pd-one", name="pager one")
    second = await _connection(api, auth, tenant, "pagerlike", "good-pd-two", name="pager two")
    target = await _connection(api, auth, tenant, "echoapi", "good-echo")
    body = {"name": "moving", "trigger_connection_id": first, "trigger_id": "incident_triggered",
            "action_connection_id": target, "action_id": "echo", "parameters": {"message": "x"}}  # fmt: skip
    created = await api.post("/v1/automations", json=body, headers=h)
    assert created.status_code == 201, created.text
    made = created.json()["webhook_registration"]
    assert (
        made["created"] is True and made["mode"] == "auto" and made["trigger_ids"] == ["incident_triggered"]
    )
    assert [r["connection_id"] for r in webhooks.of(tenant)] == [first]

    url = f"/v1/automations/{created.json()['id']}"
    moved = await api.put(url, json={**body, "trigger_connection_id": second}, headers=h)
    assert moved.status_code == 200, moved.text
    assert moved.json()["webhook_registration"]["created"] is True
    assert [r["connection_id"] for r in webhooks.of(tenant)] == [second]  # the first one's is gone
    # Saved again unchanged: the registration is found, not made twice.
    again = await api.put(url, json={**body, "trigger_connection_id": second}, headers=h)
    assert again.json()["webhook_registration"]["created"] is False and len(webhooks.of(tenant)) == 1
