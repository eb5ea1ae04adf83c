"""Enterprise transforms: validated on save, applied on every replica."""

from __future__ import annotations

import json

import pytest
from gateway_support import Scripted

from hub_common.testing import eventually

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)

SPEC = {
    "routes": [
        {
            "match": {"methods": ["POST"], "path": "/v1/items*"},
            "rewrite_path": {"from_prefix": "/v1/", "to_prefix": "/v2/"},
            "request": {
                "set_headers": {"X-Team": "blue"},
                "remove_headers": ["X-Debug"],
                "rename_fields": {"title": "name"},
                "drop_fields": ["internal"],
            },
            "response": {
                "set_headers": {"X-Transformed": "1"},
                "rename_fields": {"data.login": "user"},
                "drop_fields": ["data.secret_field"],
            },
        }
    ]
}


async def test_save_validate_and_apply_on_another_replica(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"}, connector_id="itemsapi")
    admin = hub.user_headers(tenant, tier="enterprise")
    hub.sim.on(
        "/v2/items",
        Scripted(
            body=json.dumps({"data": [{"login": "octo", "secret_field": "x"}, {"login": "cat"}]}).encode()
        ),
    )

    async def call(gateway: str, path: str = "v1/items"):
        return await hub.http.post(
            hub.proxy(gateway, cid, path),
            json={"title": "T", "internal": True, "keep": 1},
            headers={**admin, "X-Debug": "1", "Accept-Encoding": "gzip"},
        )

    # Replica B has cached "no transform" for the tenant before A saves one: only the bus (or
    # the cache's TTL) can tell it otherwise.
    assert "x-transformed" not in (await call(hub.b)).headers
    saved = await hub.http.put(f"{hub.a}/v1/gateway/transforms/itemsapi", json=SPEC, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 1
    resp = await eventually(
        lambda: _transformed(call(hub.b, "v1/items?x=1"), True), what="the transform on replica B"
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-transformed"] == "1"
    assert resp.json() == {"data": [{"user": "octo"}, {"user": "cat"}]}
    seen = hub.sim.seen("/v2/items")[-1]
    assert seen.raw_path == "/v2/items?x=1"
    assert json.loads(seen.body) == {"name": "T", "keep": 1}
    assert seen.header("x-team") == "blue" and seen.header("x-debug") is None
    assert seen.header("accept-encoding") is None  # asked for identity, to edit the body

    # Connector actions (service callers) see the provider's native API.
    native = await hub.http.post(
        hub.proxy(hub.b, cid, "v1/items"), json={"title": "T"}, headers=hub.service_headers(tenant)
    )
    assert native.status_code == 200 and hub.sim.seen("/v1/items")[-1].body == b'{"title":"T"}'

    listed = await hub.http.get(f"{hub.b}/v1/gateway/transforms", headers=admin)
    assert [t["connector_id"] for t in listed.json()["transforms"]] == ["itemsapi"]
    assert "x-transformed" in (await call(hub.a)).headers  # A holds the spec in its cache now
    assert (
        await hub.http.delete(f"{hub.b}/v1/gateway/transforms/itemsapi", headers=admin)
    ).status_code == 204
    plain = await eventually(lambda: _transformed(call(hub.a), False), what="the delete on replica A")
    assert plain.status_code == 200


async def _transformed(calling, wanted: bool):
    """The answer if its transformed-ness is ``wanted``, else None (for :func:`eventually`)."""
    resp = await calling
    return resp if ("x-transformed" in resp.headers) == wanted else None


@pytest.mark.parametrize(
    ("spec", "loc"),
    [
        (
            {"routes": [{"request": {"set_headers": {"Authorization": "Bearer x"}}}]},
            "routes.0.request.set_headers",
        ),
        (
            {"routes": [{"rewrite_path": {"from_prefix": "/a", "to_prefix": "/../b"}}]},
            "routes.0.rewrite_path.to_prefix",
        ),
        ({"routes": [{"response": {"drop_fields": ["a..b"]}}]}, "routes.0.response.drop_fields"),
        (
            {"routes": [{"match": {"methods": ["BREW"]}, "request": {"drop_fields": ["a"]}}]},
            "routes.0.match.methods",
        ),
        ({"routes": [{}]}, "routes"),
        ({"routes": []}, "routes"),
    ],
)
async def test_invalid_specs_are_refused_on_save(hub, tenant, spec, loc):
    resp = await hub.http.put(
        f"{hub.a}/v1/gateway/transforms/x1", json=spec, headers=hub.user_headers(tenant, tier="enterprise")
    )
    assert resp.status_code == 422, resp.text
    err = resp.json()["error"]
    assert err["code"] == "invalid_transform"
    assert any(p["loc"].startswith(loc) for p in err["details"]["problems"]), err


async def test_transforms_are_enterprise_only(hub, tenant):
    resp = await hub.http.put(
        f"{hub.a}/v1/gateway/transforms/x1", json=SPEC, headers=hub.user_headers(tenant, tier="teams")
    )
    assert resp.status_code == 403
    assert resp.json()["error"]["details"]["available_in"] == ["enterprise"]


async def test_body_transforms_leave_bodyless_answers_alone_and_drop_stale_validators(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"}, connector_id="etagapi")
    admin = hub.user_headers(tenant, tier="enterprise")
    spec = {"routes": [{"match": {"path": "/doc*"}, "response": {"drop_fields": ["secret"]}}]}
    saved = await hub.http.put(f"{hub.a}/v1/gateway/transforms/etagapi", json=spec, headers=admin)
    assert saved.status_code == 200, saved.text
    body = json.dumps({"secret": "x", "keep": 1}).encode()
    hub.sim.on("/doc", Scripted(body=body, headers={"ETag": '"abc"'}))
    hub.sim.on("/doc-gone", Scripted(status=204, body=b"", headers={"Content-Type": "application/json"}))
    got = await hub.http.get(hub.proxy(hub.a, cid, "doc"), headers=admin)
    assert got.json() == {"keep": 1} and "etag" not in got.headers  # the ETag named the original
    head = await hub.http.head(hub.proxy(hub.a, cid, "doc"), headers=admin)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(body))
    gone = await hub.http.get(hub.proxy(hub.a, cid, "doc-gone"), headers=admin)
    assert gone.status_code == 204 and "content-length" not in gone.headers


@pytest.mark.parametrize("parts", [1, 3])  # one chunk, or the JSON split across chunks
async def test_body_rules_apply_to_chunked_answers_too(hub, tenant, parts):
    """Without a Content-Length the answer is read up to the transform limit and edited like
    any other (it used to pass through with the dropped field still in it)."""
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"}, connector_id="itemsapi")
    admin = hub.user_headers(tenant, tier="enterprise")
    saved = await hub.http.put(f"{hub.a}/v1/gateway/transforms/itemsapi", json=SPEC, headers=admin)
    assert saved.status_code == 200, saved.text
    body = json.dumps({"data": {"login": "octo", "secret_field": "never-shown"}}).encode()
    size = -(-len(body) // parts)
    chunks = tuple(body[i : i + size] for i in range(0, len(body), size))
    hub.sim.on(f"/v2/items-{cid}", Scripted(parts=chunks, headers={"Content-Type": "application/json"}))
    resp = await hub.http.post(hub.proxy(hub.a, cid, f"v1/items-{cid}"), json={"title": "T"}, headers=admin)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"data": {"user": "octo"}}
    assert b"never-shown" not in resp.content
    assert resp.headers["content-length"] == str(len(resp.content))


async def test_a_chunked_answer_over_the_transform_limit_passes_through_whole(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"}, connector_id="itemsapi")
    admin = hub.user_headers(tenant, tier="enterprise")
    saved = await hub.http.put(f"{hub.a}/v1/gateway/transforms/itemsapi", json=SPEC, headers=admin)
    assert saved.status_code == 200, saved.text
    body = b'{"data": {"secret_field": "' + b"x" * (1024 * 1024 + 100) + b'"}}'  # over 1 MiB
    chunks = tuple(body[i : i + 300_000] for i in range(0, len(body), 300_000))
    hub.sim.on(f"/v2/items-big-{cid}", Scripted(parts=chunks, headers={"Content-Type": "application/json"}))
    resp = await hub.http.post(
        hub.proxy(hub.a, cid, f"v1/items-big-{cid}"), json={"title": "T"}, headers=admin
    )
    assert resp.status_code == 200 and resp.content == body  # too large to edit: unchanged, whole
