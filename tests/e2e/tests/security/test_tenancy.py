"""Cross-tenant checks on every endpoint of every service (docs/adr/0034).

Tenant A creates one of everything (a connection with a credential, an export, an automation, a
webhook registration with its secret, a subscription and a delivery to it, an OAuth app and a
flow, a gateway transform); tenant B then calls every operation of every service's live OpenAPI
document that takes an id, with A's ids. Each answer must be exactly what B gets for an id that
does not exist (same status and code, a 404 — never data, never a 403 that would confirm the id),
and A's resources must be intact afterwards. The operations come from the documents: a new route
that takes an id fails ``test_every_id_taking_operation_is_attacked`` until a case (or a reasoned
exemption) covers it. Every list operation, with every id-shaped query parameter set to A's ids,
must show B none of A's ids. The vault, internal only, is attacked by service callers naming
tenant B for A's connection.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from hub_common.testing.service_keys import service_minter
from hub_e2e.secret_scan import register

from .conftest import SecurityHub, user_headers

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
A, B = f"e2e-tenant-a-{uuid.uuid4().hex[:6]}", f"e2e-tenant-b-{uuid.uuid4().hex[:6]}"
SERVICES = ("vault", "connectors", "oauth", "gateway", "webhooks")
TRANSFORM = {
    "routes": [{"match": {"methods": ["POST"], "path": "/repos*"}, "request": {"drop_fields": ["x"]}}]
}

# Operations with an id in the path that are not tenant data, and why.
EXEMPT = {
    ("connectors", "GET", "/v1/connectors/{connector_id}"): "the catalog is the same for every tenant",
    ("vault", "POST", "/v1/admin/key-versions/{version}/retire"): "operators' key management (hubctl only)",
    ("vault", "GET", "/v1/admin/rewrap-jobs/{job_id}"): "operators' key management (hubctl only)",
    ("webhooks", "POST", "/webhooks/{connector_id}/{registration_id}"): (
        "providers' unauthenticated intake: the signature is the credential (test_signatures.py)"
    ),
    (
        "webhooks",
        "POST",
        "/webhooks/{connector_id}",
    ): "providers' intake, routed by workspace (test_signatures.py)",
}


@dataclass
class Call:
    method: str
    path: str  # with A's ids filled in
    headers: dict[str, str]
    json: Any = None
    # Writes into the caller's own namespace (B's app for a connector, B's credential under B):
    # allowed, as long as A's resources are intact afterwards.
    own_namespace: bool = False


@dataclass
class TenantA:
    connection: str
    oauth_connection: str
    export: str
    automation: str
    registration: str
    registration_secret: str
    subscription: str
    delivery: str
    flow: str
    client_id: str
    vault_keys: list[str]
    ids: set[str] = field(default_factory=set)


def _ok(response: httpx.Response, *expected: int) -> Any:
    assert response.status_code in expected, (response.request.method, response.request.url, response.text)
    return response.json() if response.content else None


def _wait_for(check: Callable[[], Any], what: str, timeout_s: float = 90) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not within {timeout_s}s"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def tenant_a(security_hub: SecurityHub) -> TenantA:
    hub, http, h = security_hub, security_hub.http, user_headers(A)
    webhooks, connectors, oauth = hub.url("webhooks"), hub.url("connectors"), hub.url("oauth")
    subscription = _ok(
        http.post(
            f"{webhooks}/v1/webhooks/subscriptions",
            headers=h,
            json={"url": hub.subscriber.url, "event_types": ["integration.connected"]},
        ),
        201,
    )
    register(subscription["secret"], "tenant A's subscription secret")
    connection = hub.connect_github(A)  # integration.connected → a delivery to the subscription
    delivery = _wait_for(
        lambda: _ok(http.get(f"{webhooks}/v1/webhooks/deliveries", headers=h), 200)["deliveries"],
        "tenant A's delivery",
    )[0]["id"]
    export = _ok(http.post(f"{connectors}/v1/connections/{connection}/exports", headers=h, json={}), 202)[
        "id"
    ]
    automation = _ok(
        http.post(
            f"{connectors}/v1/automations",
            headers=h,
            json={
                "name": "A's automation",
                "trigger_connection_id": connection,
                "trigger_id": "issue_opened",
                "action_connection_id": connection,
                "action_id": "add_comment",
                "parameters": {"owner": "pat-owner", "repo": "sandbox", "issue_number": 1, "body": "seen"},
                "enabled": False,
            },
        ),
        201,
    )["id"]
    registration = _ok(
        http.post(
            f"{webhooks}/v1/webhooks/registrations",
            headers=h,
            json={"connection_id": connection, "trigger_ids": ["issue_opened"], "mode": "manual"},
        ),
        201,
    )
    register(registration["secret"], "tenant A's registration secret")
    client_id, client_secret = f"a-client-{uuid.uuid4().hex[:8]}", f"a-client-secret-{uuid.uuid4().hex}"
    register(client_secret, "tenant A's OAuth client secret")
    _ok(
        http.put(
            f"{oauth}/v1/oauth/apps/github",
            headers=h,
            json={"client_id": client_id, "client_secret": client_secret},
        ),
        200,
        201,
    )
    oauth_connection = _ok(
        http.post(
            f"{connectors}/v1/connections",
            headers=h,
            json={"connector_id": "github", "name": "A's GitHub app", "config": {}},
        ),
        201,
    )["id"]
    flow = _ok(http.post(f"{oauth}/v1/oauth/flows", headers=h, json={"connection_id": oauth_connection}), 201)
    _ok(http.put(f"{hub.url('gateway')}/v1/gateway/transforms/github_pat", headers=h, json=TRANSFORM), 200)
    keys = _ok(
        http.get(
            f"{hub.url('vault')}/v1/tenants/{A}/connections/{connection}/credentials",
            headers=service_minter("connectors").headers_for("vault"),
        ),
        200,
    )
    vault_keys = sorted(k["key"] for k in keys["credentials"])
    found = TenantA(
        connection=connection,
        oauth_connection=oauth_connection,
        export=export,
        automation=automation,
        registration=registration["id"],
        registration_secret=registration["secret"],
        subscription=subscription["id"],
        delivery=delivery,
        flow=flow["flow_id"],
        client_id=client_id,
        vault_keys=vault_keys,
    )
    found.ids = {
        connection,
        oauth_connection,
        export,
        automation,
        found.registration,
        found.subscription,
        delivery,
        found.flow,
        client_id,
    }
    return found


def _vault(service: str) -> dict[str, str]:
    return service_minter(service).headers_for("vault")


def cases(a: TenantA, pat_key: str, secret_key: str) -> dict[tuple[str, str, str], list[Call]]:
    """Every id-taking operation → the calls tenant B makes to it with A's ids."""
    b = user_headers(B)
    conn, reg, sub = a.connection, a.registration, a.subscription
    vault_a = f"/v1/tenants/{B}/connections/{conn}"
    automation = {
        "name": "B's",
        "trigger_connection_id": conn,
        "trigger_id": "issue_opened",
        "action_connection_id": conn,
        "action_id": "add_comment",
        "parameters": {},
        "enabled": False,
    }

    def one(method: str, path: str, json: Any = None, headers: dict[str, str] | None = None) -> list[Call]:
        return [Call(method, path, headers or b, json)]

    return {
        # connectors
        ("connectors", "GET", "/v1/connections/{connection_id}"): one("GET", f"/v1/connections/{conn}"),
        ("connectors", "DELETE", "/v1/connections/{connection_id}"): one("DELETE", f"/v1/connections/{conn}"),
        ("connectors", "PUT", "/v1/connections/{connection_id}/credentials"): one(
            "PUT", f"/v1/connections/{conn}/credentials", {"credentials": {"token": "ghp_b_replacing_a_0000"}}
        ),
        ("connectors", "POST", "/v1/connections/{connection_id}/health"): one(
            "POST", f"/v1/connections/{conn}/health"
        ),
        ("connectors", "POST", "/v1/connections/{connection_id}/actions/{action_id}"): one(
            "POST",
            f"/v1/connections/{conn}/actions/list_issues",
            {"parameters": {"owner": "pat-owner", "repo": "sandbox"}},
        ),
        ("connectors", "POST", "/v1/connections/{connection_id}/exports"): one(
            "POST", f"/v1/connections/{conn}/exports", {}
        ),
        ("connectors", "GET", "/v1/connections/{connection_id}/exports"): one(
            "GET", f"/v1/connections/{conn}/exports"
        ),
        ("connectors", "GET", "/v1/connections/{connection_id}/exports/{export_id}"): one(
            "GET", f"/v1/connections/{conn}/exports/{a.export}"
        ),
        ("connectors", "DELETE", "/v1/connections/{connection_id}/exports/{export_id}"): one(
            "DELETE", f"/v1/connections/{conn}/exports/{a.export}"
        ),
        ("connectors", "GET", "/v1/automations/{automation_id}"): one(
            "GET", f"/v1/automations/{a.automation}"
        ),
        ("connectors", "PUT", "/v1/automations/{automation_id}"): one(
            "PUT", f"/v1/automations/{a.automation}", automation
        ),
        ("connectors", "PATCH", "/v1/automations/{automation_id}"): one(
            "PATCH", f"/v1/automations/{a.automation}", {"enabled": True}
        ),
        ("connectors", "DELETE", "/v1/automations/{automation_id}"): one(
            "DELETE", f"/v1/automations/{a.automation}"
        ),
        ("connectors", "GET", "/v1/automations/{automation_id}/runs"): one(
            "GET", f"/v1/automations/{a.automation}/runs"
        ),
        # oauth
        ("oauth", "GET", "/v1/oauth/apps/{connector_id}"): one("GET", "/v1/oauth/apps/github"),
        ("oauth", "DELETE", "/v1/oauth/apps/{connector_id}"): one("DELETE", "/v1/oauth/apps/github"),
        ("oauth", "PUT", "/v1/oauth/apps/{connector_id}"): [
            Call("PUT", "/v1/oauth/apps/github", b, {"client_id": "b-client"}, own_namespace=True)
        ],
        ("oauth", "GET", "/v1/oauth/flows/{flow_id}/start"): one(
            "GET", f"/v1/oauth/flows/{a.flow}/start?start_token=" + "x" * 43, headers={}
        ),
        ("oauth", "POST", "/v1/oauth/flows/{flow_id}/exchange"): one(
            "POST", f"/v1/oauth/flows/{a.flow}/exchange", {"code": "a-code-b-got-hold-of"}
        ),
        ("oauth", "POST", "/v1/oauth/connections/{connection_id}/client-credentials"): one(
            "POST", f"/v1/oauth/connections/{conn}/client-credentials", {}
        ),
        ("oauth", "POST", "/v1/oauth/connections/{connection_id}/refresh"): one(
            "POST", f"/v1/oauth/connections/{conn}/refresh", {}
        ),
        ("oauth", "POST", "/v1/oauth/connections/{connection_id}/revoke"): one(
            "POST", f"/v1/oauth/connections/{conn}/revoke", {}
        ),
        ("oauth", "GET", "/v1/oauth/connections/{connection_id}/token"): one(
            "GET", f"/v1/oauth/connections/{conn}/token"
        ),
        ("oauth", "POST", "/v1/oauth/connections/{connection_id}/credentials"): one(
            "POST",
            f"/v1/oauth/connections/{conn}/credentials",
            {"credentials": {"token": "ghp_b_0000000000"}},
        ),
        # gateway
        ("gateway", "GET", "/v1/connections/{connection_id}/rate-limit"): one(
            "GET", f"/v1/connections/{conn}/rate-limit"
        ),
        ("gateway", "GET", "/v1/connections/{connection_id}/usage"): one(
            "GET", f"/v1/connections/{conn}/usage"
        ),
        ("gateway", "GET", "/v1/gateway/transforms/{connector_id}"): one(
            "GET", "/v1/gateway/transforms/github_pat"
        ),
        ("gateway", "DELETE", "/v1/gateway/transforms/{connector_id}"): one(
            "DELETE", "/v1/gateway/transforms/github_pat"
        ),
        ("gateway", "PUT", "/v1/gateway/transforms/{connector_id}"): [
            Call("PUT", "/v1/gateway/transforms/github_pat", b, TRANSFORM, own_namespace=True)
        ],
        **{
            ("gateway", method, "/v1/proxy/{connection_id}/{path}"): one(
                method, f"/v1/proxy/{conn}/user", {} if method in ("POST", "PUT", "PATCH") else None
            )
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        },
        # webhooks
        ("webhooks", "GET", "/v1/webhooks/registrations/{registration_id}"): one(
            "GET", f"/v1/webhooks/registrations/{reg}"
        ),
        ("webhooks", "DELETE", "/v1/webhooks/registrations/{registration_id}"): one(
            "DELETE", f"/v1/webhooks/registrations/{reg}"
        ),
        ("webhooks", "PUT", "/v1/webhooks/registrations/{registration_id}/secret"): one(
            "PUT", f"/v1/webhooks/registrations/{reg}/secret", {"secret": "b-chosen-secret-0000000000"}
        ),
        ("webhooks", "POST", "/v1/webhooks/registrations/{registration_id}/fill-gaps"): one(
            "POST", f"/v1/webhooks/registrations/{reg}/fill-gaps"
        ),
        ("webhooks", "GET", "/v1/webhooks/subscriptions/{subscription_id}"): one(
            "GET", f"/v1/webhooks/subscriptions/{sub}"
        ),
        ("webhooks", "PATCH", "/v1/webhooks/subscriptions/{subscription_id}"): one(
            "PATCH",
            f"/v1/webhooks/subscriptions/{sub}",
            {"event_types": ["integration.connected", "integration.disconnected"]},
        ),
        ("webhooks", "DELETE", "/v1/webhooks/subscriptions/{subscription_id}"): one(
            "DELETE", f"/v1/webhooks/subscriptions/{sub}"
        ),
        ("webhooks", "POST", "/v1/webhooks/subscriptions/{subscription_id}/rotate-secret"): one(
            "POST", f"/v1/webhooks/subscriptions/{sub}/rotate-secret"
        ),
        ("webhooks", "GET", "/v1/webhooks/deliveries/{delivery_id}"): one(
            "GET", f"/v1/webhooks/deliveries/{a.delivery}"
        ),
        ("webhooks", "POST", "/v1/webhooks/deliveries/{delivery_id}/replay"): one(
            "POST", f"/v1/webhooks/deliveries/{a.delivery}/replay"
        ),
        # vault: a service caller naming tenant B for A's connection and keys
        ("vault", "GET", "/v1/tenants/{tenant_id}/connections/{connection_id}/credentials/{key}"): [
            Call("GET", f"{vault_a}/credentials/{pat_key}", _vault("gateway")),
            Call("GET", f"{vault_a}/credentials/{secret_key}", _vault("webhooks")),
        ],
        ("vault", "DELETE", "/v1/tenants/{tenant_id}/connections/{connection_id}/credentials/{key}"): one(
            "DELETE", f"{vault_a}/credentials/{secret_key}", headers=_vault("webhooks")
        ),
        ("vault", "POST", "/v1/tenants/{tenant_id}/connections/{connection_id}/hmac/sign"): one(
            "POST", f"{vault_a}/hmac/sign", {"key": secret_key, "message": "hello"}, _vault("webhooks")
        ),
        ("vault", "POST", "/v1/tenants/{tenant_id}/connections/{connection_id}/hmac/verify"): one(
            "POST",
            f"{vault_a}/hmac/verify",
            {"keys": [secret_key], "message": "hello", "signatures": ["00" * 32]},
            _vault("webhooks"),
        ),
        ("vault", "GET", "/v1/tenants/{tenant_id}/connections/{connection_id}/credentials"): [
            Call("GET", f"{vault_a}/credentials", _vault("connectors"), own_namespace=True)
        ],
        ("vault", "DELETE", "/v1/tenants/{tenant_id}/connections/{connection_id}/credentials"): [
            Call("DELETE", f"{vault_a}/credentials", _vault("connectors"), own_namespace=True)
        ],
        ("vault", "PUT", "/v1/tenants/{tenant_id}/connections/{connection_id}/credentials/{key}"): [
            Call(
                "PUT",
                f"{vault_a}/credentials/{pat_key}",
                _vault("connectors"),
                {"value": "b-own-value-0000"},
                True,
            )
        ],
        ("vault", "PUT", "/v1/tenants/{tenant_id}/connections/{connection_id}/credentials"): [
            Call(
                "PUT",
                f"{vault_a}/credentials",
                _vault("connectors"),
                {"values": {pat_key: "b-own-value-0001"}},
                True,
            )
        ],
        ("vault", "POST", "/v1/tenants/{tenant_id}/connections/{connection_id}/credentials/{key}/generate"): [
            Call("POST", f"{vault_a}/credentials/{secret_key}/generate", _vault("webhooks"), {}, True)
        ],
    }


def _operations(hub: SecurityHub) -> dict[tuple[str, str, str], dict[str, Any]]:
    out = {}
    for service in SERVICES:
        document = hub.http.get(f"{hub.url(service)}/openapi.json").json()
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                if method != "parameters":
                    out[(service, method.upper(), path)] = operation
    return out


def _with_random_ids(path: str, a: TenantA) -> str:
    """The same call with every one of A's ids replaced by an id that exists nowhere."""
    for value in sorted(a.ids, key=len, reverse=True):
        path = path.replace(value, str(uuid.uuid4()) if _is_uuid(value) else f"nobody-{uuid.uuid4().hex[:8]}")
    return path


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _answer(response: httpx.Response) -> tuple[int, str | None]:
    try:
        body = response.json()
    except ValueError:
        return response.status_code, None
    error = body.get("error") if isinstance(body, dict) else None
    return response.status_code, error.get("code") if isinstance(error, dict) else None


def _key(keys: list[str], prefix: str) -> str:
    return next(k for k in keys if k.startswith(prefix))


def test_every_id_taking_operation_is_attacked(security_hub, tenant_a):
    operations = _operations(security_hub)
    taking_ids = {op for op in operations if re.search(r"\{[^}]+\}", op[2])}
    covered = set(cases(tenant_a, "k", "k"))
    assert not (covered - set(operations)), (
        f"cases for operations that are gone: {sorted(covered - set(operations))}"
    )
    missing = taking_ids - covered - set(EXEMPT)
    assert not missing, f"id-taking operations no cross-tenant case covers: {sorted(missing)}"
    assert not (set(EXEMPT) - set(operations)), "an exemption for an operation that is gone"


def _b_starts_with_nothing(hub: SecurityHub, a: TenantA) -> None:
    """B's own-namespace writes below (its app, transform, vault values under A's connection id)
    make B's later reads answer 200: a rerun after a failed attempt starts from none of them."""
    http, b = hub.http, user_headers(B)
    http.delete(f"{hub.url('oauth')}/v1/oauth/apps/github", headers=b)
    http.delete(f"{hub.url('gateway')}/v1/gateway/transforms/github_pat", headers=b)
    http.delete(
        f"{hub.url('vault')}/v1/tenants/{B}/connections/{a.connection}/credentials",
        headers=_vault("connectors"),
    )


def test_another_tenants_ids_answer_exactly_as_ids_that_do_not_exist(security_hub, tenant_a):
    hub, http = security_hub, security_hub.http
    _b_starts_with_nothing(hub, tenant_a)
    pat_key = _key(tenant_a.vault_keys, "bearer_token")
    # The key of the registration the fixture made (saving A's automation may have made another).
    secret_key = _key(tenant_a.vault_keys, f"webhook_secret.reg-{uuid.UUID(tenant_a.registration).hex}")
    wrong: list[str] = []
    for (service, _method, template), calls in cases(tenant_a, pat_key, secret_key).items():
        for call in calls:
            url = hub.url(service)
            got = http.request(call.method, url + call.path, headers=call.headers, json=call.json)
            label = f"{service} {call.method} {template}"
            named = {i for i in tenant_a.ids if i in call.path}
            if call.own_namespace:
                if got.status_code >= 500 or any(i in got.text for i in tenant_a.ids - named):
                    wrong.append(f"{label}: {got.status_code} {got.text[:200]}")
                continue
            nobody = http.request(
                call.method, url + _with_random_ids(call.path, tenant_a), headers=call.headers, json=call.json
            )
            # Indistinguishable from an id nobody has, and a 404 (the OAuth flow routes answer an
            # unknown flow 400 state_unknown / start_link_invalid, ADR 0012: the same here).
            if _answer(got) != _answer(nobody) or got.status_code not in (400, 404):
                wrong.append(
                    f"{label}: {_answer(got)} for A's id, {_answer(nobody)} for nobody's: {got.text[:200]}"
                )
            if any(i in got.text for i in tenant_a.ids - named):
                wrong.append(f"{label}: the answer names another of A's ids: {got.text[:200]}")
            assert tenant_a.registration_secret not in got.text
    assert not wrong, "\n".join(wrong)
    _assert_a_intact(hub, tenant_a, pat_key, secret_key)


def _assert_a_intact(hub: SecurityHub, a: TenantA, pat_key: str, secret_key: str) -> None:
    http, h = hub.http, user_headers(A)
    assert (
        _ok(http.get(f"{hub.url('connectors')}/v1/connections/{a.connection}", headers=h), 200)["status"]
        == "active"
    )
    _ok(http.get(f"{hub.url('connectors')}/v1/automations/{a.automation}", headers=h), 200)
    assert (
        _ok(http.get(f"{hub.url('webhooks')}/v1/webhooks/registrations/{a.registration}", headers=h), 200)[
            "status"
        ]
        == "active"
    )
    _ok(http.get(f"{hub.url('webhooks')}/v1/webhooks/subscriptions/{a.subscription}", headers=h), 200)
    assert (
        _ok(http.get(f"{hub.url('oauth')}/v1/oauth/apps/github", headers=h), 200)["client_id"] == a.client_id
    )
    _ok(http.get(f"{hub.url('gateway')}/v1/gateway/transforms/github_pat", headers=h), 200)
    vault = f"{hub.url('vault')}/v1/tenants/{A}/connections/{a.connection}/credentials"
    assert _ok(http.get(f"{vault}/{pat_key}", headers=_vault("gateway")), 200)["value"] == hub.pat
    assert (
        _ok(http.get(f"{vault}/{secret_key}", headers=_vault("webhooks")), 200)["value"]
        == a.registration_secret
    )


def test_list_operations_show_another_tenant_nothing(security_hub, tenant_a):
    """Every GET without a path id, with each id-shaped query parameter set to A's ids."""
    hub, http = security_hub, security_hub.http
    queries = {
        "connection_id": tenant_a.connection,
        "subscription_id": tenant_a.subscription,
        "automation_id": tenant_a.automation,
        "registration_id": tenant_a.registration,
    }
    listed = 0
    wrong: list[str] = []
    for (service, method, path), operation in _operations(hub).items():
        if method != "GET" or "{" in path or service == "vault":
            continue
        names = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
        variants = [{}] + [{name: value} for name, value in queries.items() if name in names]
        for params in variants:
            got = http.get(hub.url(service) + path, params=params, headers=user_headers(B))
            listed += 1
            leaked = sorted(i for i in tenant_a.ids if i in got.text)
            if leaked or got.status_code >= 500:
                wrong.append(f"{service} GET {path} {params}: {got.status_code}, A's ids: {leaked}")
    assert listed >= 10
    assert not wrong, "\n".join(wrong)
    # (the same lists as A do show A's resources: the oracle sees what it looks for)
    mine = http.get(f"{hub.url('webhooks')}/v1/webhooks/subscriptions", headers=user_headers(A)).text
    assert tenant_a.subscription in mine


def test_ids_in_request_bodies_answer_as_ids_that_do_not_exist(security_hub, tenant_a):
    hub, http, b = security_hub, security_hub.http, user_headers(B)
    conn = tenant_a.connection
    attempts = [
        (
            "webhooks",
            "/v1/webhooks/registrations",
            {"connection_id": conn, "trigger_ids": ["issue_opened"], "mode": "manual"},
        ),
        ("oauth", "/v1/oauth/flows", {"connection_id": tenant_a.oauth_connection}),
        (
            "oauth",
            "/v1/oauth/flows",
            {"connection_id": tenant_a.oauth_connection, "tenant_id": A, "user_id": "alice"},
        ),
        (
            "connectors",
            "/v1/automations",
            {
                "name": "B's",
                "trigger_connection_id": conn,
                "trigger_id": "issue_opened",
                "action_connection_id": conn,
                "action_id": "add_comment",
                "parameters": {},
                "enabled": False,
            },
        ),
        (
            "webhooks",
            "/v1/webhooks/deliveries/replay",
            {"subscription_id": tenant_a.subscription, "since": "2020-01-01T00:00:00Z"},
        ),
        ("webhooks", "/v1/webhooks/deliveries/redrive", {"subscription_id": tenant_a.subscription}),
    ]
    wrong = []
    for service, path, body in attempts:
        got = http.post(hub.url(service) + path, headers=b, json=body)
        nobody_body = {
            k: str(uuid.uuid4()) if isinstance(v, str) and v in tenant_a.ids else v for k, v in body.items()
        }
        nobody = http.post(hub.url(service) + path, headers=b, json=nobody_body)
        named = {v for v in body.values() if isinstance(v, str)}
        # As for an id nobody has: the same refusal, or the same empty result ({"replayed": 0}).
        same = _answer(got) == _answer(nobody) and (got.status_code >= 400 or got.text == nobody.text)
        if not same or got.status_code in (401, 403) or any(i in got.text for i in tenant_a.ids - named):
            wrong.append(f"{service} POST {path} {sorted(body)}: {got.status_code} {got.text[:200]}")
    assert not wrong, "\n".join(wrong)


# -- the Integration Manager UI: HTML routes outside the OpenAPI documents ---------------------------------
UI_IDS = {"connection_id", "automation_id", "registration_id"}
UI_VALUES = {"change": "delete", "connector_id": "github_pat"}


def _no_ids(text: str) -> str:
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", text)


def _ui_session(hub: SecurityHub, tenant: str) -> tuple[httpx.Client, str]:
    """A browser-like client signed in to the UI as ``tenant``, and its session's CSRF token."""
    base = hub.url("connectors")
    client = httpx.Client(base_url=base, timeout=60, headers={"origin": base})
    page = client.get("/ui/login")
    login_csrf = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert login_csrf, page.text[:300]
    token = user_headers(tenant)["Authorization"]
    signed_in = client.post("/ui/login", data={"login_csrf": login_csrf.group(1), "token": token})
    assert signed_in.status_code in (302, 303), signed_in.text[:300]
    connections = client.get("/ui/connections")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', connections.text)
    assert connections.status_code == 200 and csrf, connections.text[:300]
    return client, csrf.group(1)


def test_ui_pages_with_another_tenants_ids_are_not_found(security_hub, tenant_a):
    """Every UI route that takes a connection, automation or webhook registration id (read from
    the service's router, so a new page is covered), as tenant B's signed-in browser: as for an
    id nobody has, 404."""
    from hub_connectors.api.ui import pages

    a_ids = {
        "connection_id": tenant_a.connection,
        "automation_id": tenant_a.automation,
        "registration_id": tenant_a.registration,
    }
    routes = [
        (method, route.path)
        for route in pages.router.routes
        for method in sorted(getattr(route, "methods", ()) or ())
        if UI_IDS & set(re.findall(r"\{([^}]+)\}", route.path))
    ]
    assert len(routes) >= 8, routes
    client, csrf = _ui_session(security_hub, B)
    wrong = []
    try:
        for method, template in routes:
            names = re.findall(r"\{([^}]+)\}", template)
            path = template.format(**{n: a_ids.get(n) or UI_VALUES[n] for n in names})
            nobody = template.format(**{n: str(uuid.uuid4()) if n in a_ids else UI_VALUES[n] for n in names})
            data = {"csrf_token": csrf, "name": "B's rename"} if method == "POST" else None
            got = client.request(method, path, data=data)
            other = client.request(method, nobody, data=data)
            leaked = sorted(i for i in tenant_a.ids if i in got.text and i not in path)
            where, where_nobody = got.headers.get("location", ""), other.headers.get("location", "")
            if method == "POST" and got.status_code == 303 and "/ui/login" not in where:
                # A form post answers with a redirect and a message: the same as for nobody's id.
                same = _no_ids(where) == _no_ids(where_nobody)
                if not same or leaked:
                    wrong.append(f"{method} {template}: to {where} (nobody's: to {where_nobody})")
                continue
            if got.status_code != 404 or got.status_code != other.status_code or leaked:
                wrong.append(
                    f"{method} {template}: {got.status_code} (nobody's: {other.status_code}) {leaked}"
                )
    finally:
        client.close()
    assert not wrong, "\n".join(wrong)
    api = security_hub.url("connectors")
    _ok(security_hub.http.get(f"{api}/v1/automations/{tenant_a.automation}", headers=user_headers(A)), 200)
    mine = _ok(
        security_hub.http.get(f"{api}/v1/connections/{tenant_a.connection}", headers=user_headers(A)), 200
    )
    assert mine["status"] == "active" and mine["name"] != "B's rename", mine
