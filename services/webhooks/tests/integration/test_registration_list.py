"""``GET /v1/webhooks/registrations`` pages newest first with a keyset cursor, scoped to the tenant."""

from __future__ import annotations

import pytest

from hub_common.web.auth import mint_user_token

pytestmark = pytest.mark.integration


async def test_registrations_page_by_cursor_and_never_show_another_tenant(
    http, settings, tenant, make_registration
):
    made = [await make_registration("github-sha256", f"s-{n}") for n in range(5)]
    await make_registration("github-sha256", "other", tenant_id=f"{tenant}-other")
    token = mint_user_token(settings, tenant=tenant, user="alice", tier="writerpro")
    headers = {"Authorization": f"Bearer {token}"}

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        resp = await http.get("/v1/webhooks/registrations", params=params, headers=headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert len(body["registrations"]) <= 2
        seen += [r["id"] for r in body["registrations"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(r.id) for r in reversed(made)]  # newest first, each once, nothing of the other tenant
    assert pages == 3

    bad = await http.get("/v1/webhooks/registrations", params={"cursor": "not-a-cursor"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_cursor"
    too_many = await http.get("/v1/webhooks/registrations", params={"limit": 501}, headers=headers)
    assert too_many.status_code == 422
