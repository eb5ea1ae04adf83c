"""The Integration Manager UI over HTTP (docs/adr/0029): sign-in exchanges the bearer JWT for an
HttpOnly session cookie; every state change needs the session's CSRF token and our own origin;
connect sessions let an end user connect an account, tagged with them, without a hub login."""

import uuid

import pytest

from hub_common.web.auth import mint_user_token

from .conftest import csrf_of as _csrf

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


async def _sign_in(browser, settings, tenant, tier="enterprise") -> str:
    page = await browser.get("/ui/login")
    token = mint_user_token(settings, tenant=tenant, user="alice", tier=tier)
    signed = await browser.post(
        "/ui/login", data={"token": f"Bearer {token}", "login_csrf": _csrf(page.text, "login_csrf")}
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/ui/connections", signed.text
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/ui" in cookie
    assert token not in cookie
    page = await browser.get("/ui/connections")
    assert page.status_code == 200
    return _csrf(page.text)


async def test_pages_need_a_session_and_a_good_token(browser, settings):
    assert (await browser.get("/ui/connections")).headers["location"] == "/ui/login"
    page = await browser.get("/ui/login")
    refused = await browser.post(
        "/ui/login", data={"token": "not-a-jwt", "login_csrf": _csrf(page.text, "login_csrf")}
    )
    assert refused.status_code == 303 and "error=" in refused.headers["location"]
    assert "hub_ui_session" not in refused.headers.get("set-cookie", "")


async def test_state_changes_need_the_csrf_token_and_our_origin(browser, settings, tenant, api, auth):
    csrf = await _sign_in(browser, settings, tenant)
    body = {"connector_id": "echoapi", "name": "echo", "credentials": {"api_key": "good-echo"}}
    created = await api.post("/v1/connections", json=body, headers=auth(tenant, "enterprise"))
    cid = created.json()["id"]
    form = {"name": "renamed"}
    assert (await browser.post(f"/ui/connections/{cid}/rename", data=form)).status_code == 403
    wrong = await browser.post(f"/ui/connections/{cid}/rename", data={**form, "csrf_token": "x" * 43})
    assert wrong.status_code == 403
    cross = await browser.post(
        f"/ui/connections/{cid}/rename",
        data={**form, "csrf_token": csrf},
        headers={"origin": "https://evil.test"},
    )
    assert cross.status_code == 403
    assert (await api.get(f"/v1/connections/{cid}", headers=auth(tenant))).json()["name"] == "echo"
    ok = await browser.post(
        f"/ui/connections/{cid}/rename",
        data={**form, "csrf_token": csrf},
        headers={"origin": "http://connectors"},
    )
    assert ok.status_code == 303
    assert (await api.get(f"/v1/connections/{cid}", headers=auth(tenant))).json()["name"] == "renamed"
    page = await browser.get(f"/ui/connections/{cid}")
    assert "renamed" in page.text and "Active" in page.text
    # Signed out: the cookie no longer opens anything.
    await browser.post("/ui/logout", data={"csrf_token": csrf})
    assert (await browser.get("/ui/connections")).status_code == 303


async def test_a_connect_session_lets_an_end_user_connect_without_a_hub_login(
    browser, settings, tenant, api, auth
):
    made = await api.post(
        "/v1/connect/sessions",
        json={"end_user": {"id": "customer-42"}, "allowed_connectors": ["echoapi"],
              "return_to": "https://app.example/settings"},
        headers=auth(tenant, "enterprise"),
    )  # fmt: skip
    assert made.status_code == 201, made.text
    url = made.json()["connect_url"]
    assert url.startswith("http://connectors/ui/connect?token=")
    opened = await browser.get(url.removeprefix("http://connectors"))
    assert opened.status_code == 303 and opened.headers["location"] == "/ui/connect/start"
    # The token works once.
    again = await browser.get(url.removeprefix("http://connectors"))
    assert again.status_code == 410
    start = await browser.get("/ui/connect/start")
    assert "Echo API" in start.text and "OAuth Thing" not in start.text
    # The end user reaches no hub page and no other connector.
    assert (await browser.get("/ui/connections")).status_code == 403
    assert (await browser.get("/ui/connect/new/oauththing")).status_code == 404
    form = await browser.get("/ui/connect/new/echoapi")
    done = await browser.post(
        "/ui/connect/new/echoapi",
        data={"csrf_token": _csrf(form.text), "name": "My echo", "cred.api_key": "good-customer"},
    )
    assert done.status_code == 303, done.text
    page = await browser.get(done.headers["location"])
    assert "My echo is connected" in page.text and "https://app.example/settings" in page.text
    listed = (await api.get("/v1/connections", headers=auth(tenant))).json()["connections"]
    [mine] = [c for c in listed if c["name"] == "My echo"]
    assert mine["status"] == "active"
    async with container_pool(api) as conn:
        tag = await conn.fetchval(
            "SELECT end_user_id FROM integrations_connections WHERE id = $1", uuid.UUID(mine["id"])
        )
    assert tag == "customer-42"


def container_pool(api):
    return api._transport.app.state.container.infra.pool.acquire()


async def test_every_page_renders_and_the_builder_saves_a_checked_automation(
    browser, settings, tenant, api, auth
):
    csrf = await _sign_in(browser, settings, tenant)
    h = auth(tenant, "enterprise")

    async def make(connector_id: str, key: str) -> str:
        body = {"connector_id": connector_id, "name": connector_id, "credentials": {"api_key": key}}
        return (await api.post("/v1/connections", headers=h, json=body)).json()["id"]

    source, target = await make("pagerlike", "good-pd"), await make("echoapi", "good-echo")
    for path in ("/ui/connections", "/ui/connections?connector=echoapi", "/ui/connections/new",
                 "/ui/connections/new/echoapi", "/ui/connections/new/oauththing", f"/ui/connections/{target}",
                 f"/ui/connections/{target}/disconnect", "/ui/credentials", "/ui/license", "/ui/activity",
                 "/ui/automations", "/ui/automations/new"):  # fmt: skip
        page = await browser.get(path)
        assert page.status_code == 200, (path, page.text[:300])
        assert 'lang="en"' in page.text and "<main" in page.text
    choice = {"trigger": f"{source}:incident_triggered", "action": f"{target}:echo", "csrf_token": csrf}
    shown = await browser.post("/ui/automations/new", data={**choice, "intent": "choose"})
    assert shown.status_code == 200 and 'name="param.message"' in shown.text
    preview = await browser.post(
        "/ui/automations/new",
        data={**choice, "intent": "preview", "param.message": "Incident {{ payload.id }}", "param.times": "2",
              "sample_payload": '{"id": "P5"}'},
    )  # fmt: skip
    assert preview.status_code == 200 and "Incident P5" in preview.text and "Fits the action" in preview.text
    bad = await browser.post(
        "/ui/automations/new",
        data={**choice, "intent": "save", "name": "bad", "param.times": "2", "sample_payload": "{}"},
    )
    assert bad.status_code == 422 and "missing required property" in bad.text
    saved = await browser.post(
        "/ui/automations/new",
        data={**choice, "intent": "save", "name": "Echo incidents", "enabled": "on",
              "param.message": "Incident {{ payload.id }}", "sample_payload": '{"id": "P5"}'},
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    detail = await browser.get(saved.headers["location"].split("?")[0])
    assert "Echo incidents" in detail.text and "Run history" in detail.text
    listed = (await api.get("/v1/automations", headers=h)).json()["automations"]
    assert [a["parameters"] for a in listed] == [{"message": "Incident {{ payload.id }}"}]
