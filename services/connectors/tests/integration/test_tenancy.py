"""Tenant A never sees, uses or learns of tenant B's connections: 404 everywhere, with the same
body as for an id that does not exist at all."""

import uuid

import pytest

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


async def test_other_tenants_connections_do_not_exist_for_you(api, auth):
    owner, stranger = (
        auth(f"tenant-a-{uuid.uuid4().hex[:6]}", "teams"),
        auth(f"tenant-b-{uuid.uuid4().hex[:6]}", "teams"),
    )
    created = await api.post(
        "/v1/connections",
        json={"connector_id": "echoapi", "name": "secret-project", "credentials": {"api_key": "good-key"}},
        headers=owner,
    )
    assert created.status_code == 201
    cid = created.json()["id"]

    nowhere = str(uuid.uuid4())
    probes = [
        ("GET", "/v1/connections/{}", None),
        ("DELETE", "/v1/connections/{}", None),
        ("POST", "/v1/connections/{}/health", None),
        ("POST", "/v1/connections/{}/actions/echo", {"parameters": {"message": "hi"}}),
        ("POST", "/v1/connections/{}/actions/unknown", {"parameters": {}}),
        ("GET", "/v1/audit?connection_id={}", None),
    ]
    for method, path, body in probes:
        theirs = await api.request(method, path.format(cid), json=body, headers=stranger)
        missing = await api.request(method, path.format(nowhere), json=body, headers=stranger)
        assert theirs.status_code == 404, (method, path, theirs.text)
        assert theirs.json()["error"]["code"] == missing.json()["error"]["code"] == "connection_not_found"
        assert theirs.json()["error"]["message"] == missing.json()["error"]["message"]
        assert cid not in theirs.text
    garbage = await api.get("/v1/connections/not-a-uuid", headers=stranger)
    assert garbage.status_code == 404

    assert (await api.get("/v1/connections?include_disconnected=true", headers=stranger)).json()[
        "connections"
    ] == []
    # The same name is free in the other tenant, and the owner still has everything.
    same_name = await api.post(
        "/v1/connections",
        json={"connector_id": "echoapi", "name": "secret-project", "credentials": {"api_key": "good-key"}},
        headers=stranger,
    )
    assert same_name.status_code == 201
    mine = await api.get(f"/v1/connections/{cid}", headers=owner)
    assert mine.status_code == 200 and mine.json()["status"] == "active"
    assert (await api.get("/v1/license", headers=stranger)).json()["connections_used"] == 1
