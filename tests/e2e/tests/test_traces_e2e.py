"""One user action is one trace (ADR 0015), seen by an in-process OTLP receiver: the connectors
API, its call to the gateway, the gateway's credential read from the vault and its call to the
provider, the events on Kafka and the consumers that process them. Span names are route
templates, attributes follow the OpenTelemetry conventions, a 5xx is an error span, and no
secret (the API key, which travels in the provider's query string; tokens) is in any span."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator

import httpx
import pytest

from hub_common.settings import HubSettings
from hub_common.web.auth import mint_user_token
from hub_e2e.keyed_provider import KeyedProvider, keyed_plugin_path
from hub_e2e.otlp import OtlpReceiver, ReceivedSpan
from hub_e2e.processes import ServiceProcess

# Four services start (and migrate) with their exporters: on a loaded machine that alone can
# take longer than the default per-test budget.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
TENANT = "e2e-traces"
AUDITED = [
    "integration.connected",
    "integration.status-changed",
    "integration.action-executed",
    "integration.api-request",
]


@pytest.fixture(scope="module")
def hub(hub_stack, module_dsn, tmp_path_factory) -> Iterator[dict]:
    api_key = f"tracekey{secrets.token_hex(12)}"
    plugins = keyed_plugin_path(tmp_path_factory.mktemp("plugins"))
    with OtlpReceiver() as otlp, KeyedProvider(api_key) as provider:
        vault, connectors = ServiceProcess("vault", {}), ServiceProcess("connectors", {})
        oauth, gateway = ServiceProcess("oauth", {}), ServiceProcess("gateway", {})
        env = {
            "HUB_POSTGRES_DSN": module_dsn,
            "HUB_KAFKA_BOOTSTRAP": hub_stack.kafka_bootstrap,
            "HUB_REDIS_URL": hub_stack.redis_url,
            "HUB_OUTBOUND_ALLOWLIST": "127.0.0.1",
            "HUB_VAULT_URL": vault.url,
            "HUB_CONNECTORS_URL": connectors.url,
            "HUB_OAUTH_URL": oauth.url,
            "HUB_GATEWAY_URL": gateway.url,
            "HUB_OAUTH_PUBLIC_URL": oauth.url,
            "PYTHONPATH": str(plugins),
            "HUB_CONNECTORS_CONSUMER_OFFSET_RESET": "latest",
            # The audit projection also takes the gateway's per-call events: their consumer
            # must join the action's trace too.
            "HUB_CONNECTORS_AUDIT_TOPICS": json.dumps(AUDITED),
            # Every call reads the credential from the vault (no cache): that read is in the trace.
            "HUB_GATEWAY_CREDENTIAL_CACHE_TTL_S": "0",
            "HUB_OTLP_ENDPOINT": otlp.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "200",  # batches leave every 200 ms, not every 5 s
        }
        procs = [vault, connectors, oauth, gateway]
        try:
            for proc in procs:
                proc.env = env
                proc.migrate()
            for proc in procs:
                proc.start()
            yield {
                "otlp": otlp,
                "provider": provider,
                "api_key": api_key,
                "connectors": connectors,
                "oauth": oauth,
            }
        finally:
            for proc in reversed(procs):
                proc.stop()


def user_token() -> str:
    return mint_user_token(HubSettings(), tenant=TENANT, user="alice", tier="enterprise")


def headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {user_token()}"}


def active_connection(hub) -> str:
    """An API-key connection, active. The health check after the credentials is asked for once
    more by hand: this test is about traces, not about the automatic first check."""
    connectors, oauth = hub["connectors"], hub["oauth"]
    created = httpx.post(
        f"{connectors.url}/v1/connections",
        headers=headers(),
        json={
            "connector_id": "keyedsim",
            "name": f"k{time.monotonic_ns()}",
            "config": {"base_url": hub["provider"].url},
        },
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    stored = httpx.post(
        f"{oauth.url}/v1/oauth/connections/{cid}/credentials",
        headers=headers(),
        json={"credentials": {"api_key": hub["api_key"]}},
        timeout=30,
    )
    assert stored.status_code < 300, stored.text
    deadline = time.monotonic() + 30
    while True:
        status = httpx.get(f"{connectors.url}/v1/connections/{cid}", headers=headers()).json()["status"]
        if status == "active":
            return cid
        assert time.monotonic() < deadline, f"the connection stayed {status}"
        if status == "error":
            httpx.post(f"{connectors.url}/v1/connections/{cid}/health", headers=headers(), timeout=30)
        time.sleep(0.2)


def run_action(hub, cid: str, action: str) -> httpx.Response:
    resp = httpx.post(
        f"{hub['connectors'].url}/v1/connections/{cid}/actions/{action}",
        headers=headers(),
        json={"parameters": {}},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    return resp


def action_trace(hub, cid: str, action: str, complete) -> list[ReceivedSpan]:
    """The spans of the trace whose root is the connectors' server span of this action, once
    ``complete(spans)`` holds."""
    path = f"/v1/connections/{cid}/actions/{action}"

    def roots(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
        return [s for s in spans if s.kind == "server" and s.attributes.get("url.path") == path]

    (root,) = roots(hub["otlp"].wait_for(lambda spans: len(roots(spans)) == 1))
    assert root.parent_span_id == "", "the user's action starts the trace"
    hub["otlp"].wait_for(lambda spans: complete([s for s in spans if s.trace_id == root.trace_id]))
    return hub["otlp"].trace(root.trace_id)


def one(spans: list[ReceivedSpan], **match) -> ReceivedSpan:
    found = [s for s in spans if all(getattr(s, k) == v for k, v in match.items())]
    assert len(found) >= 1, f"no span with {match}: {[(s.service, s.kind, s.name) for s in spans]}"
    return found[0]


def provider_calls(spans: list[ReceivedSpan], provider_url: str) -> list[ReceivedSpan]:
    """The gateway's CLIENT spans to the provider (its calls to the vault are CLIENT spans too)."""
    return [
        s
        for s in spans
        if s.service == "hub-gateway"
        and s.kind == "client"
        and str(s.attributes.get("url.full", "")).startswith(provider_url + "/")
    ]


def find(spans, service: str, kind: str, name: str | None = None, **attrs) -> list[ReceivedSpan]:
    return [
        s
        for s in spans
        if s.service == service
        and s.kind == kind
        and (name is None or s.name == name)
        and all(s.attributes.get(k) == v for k, v in attrs.items())
    ]


def test_one_action_is_one_trace_with_templates_and_conventions(hub):
    cid = active_connection(hub)
    provider = hub["provider"]
    resp = run_action(hub, cid, "whoami")
    assert resp.json()["success"] is True, resp.text

    def complete(spans: list[ReceivedSpan]) -> bool:
        names = {(s.service, s.kind, s.name) for s in spans}
        return {
            ("hub-gateway", "server", "GET /v1/proxy/{connection_id}/{path}"),
            ("hub-connectors", "consumer", "process integration.api-request"),
            ("hub-connectors", "consumer", "process integration.action-executed"),
        } <= names and any(s.service == "hub-vault" and s.kind == "server" for s in spans)

    spans = action_trace(hub, cid, "whoami", complete)
    by_id = {s.span_id: s for s in spans}

    # The connectors API: a route template, never the ids.
    roots = [s for s in spans if s.parent_span_id == ""]
    assert len(roots) == 1, [(s.service, s.kind, s.name, s.span_id, s.parent_span_id) for s in spans]
    (root,) = roots
    assert root.service == "hub-connectors"
    assert root.name == "POST /v1/connections/{connection_id}/actions/{action_id}"
    assert root.attributes["http.route"] == "/v1/connections/{connection_id}/actions/{action_id}"
    assert root.attributes["http.response.status_code"] == 200 and not root.error

    # connectors → plugin worker → gateway: the test connector is a plugin, so its code runs in
    # a sandboxed worker (ADR 0011) that exports nothing; the service's "plugin action" span is
    # the parent its gateway call carries, and the gateway continues it.
    gateway = one(spans, service="hub-gateway", kind="server", name="GET /v1/proxy/{connection_id}/{path}")
    assert gateway.attributes["http.route"] == "/v1/proxy/{connection_id}/{path}"
    assert gateway.attributes["http.response.status_code"] == 200 and not gateway.error
    to_gateway = by_id[gateway.parent_span_id]
    assert (to_gateway.service, to_gateway.name) == ("hub-connectors", "plugin action")
    assert to_gateway.attributes["hub.connector_id"] == "keyedsim"
    assert by_id[to_gateway.parent_span_id].trace_id == root.trace_id

    # gateway → vault (aiohttp CLIENT span) → the vault's server span, by its template.
    vault = one(spans, service="hub-vault", kind="server")
    assert "{" in vault.attributes["http.route"] and cid not in vault.name and TENANT not in vault.name
    assert vault.name == f"GET {vault.attributes['http.route']}"
    to_vault = by_id[vault.parent_span_id]
    assert (to_vault.service, to_vault.kind) == ("hub-gateway", "client")

    # gateway → provider: a CLIENT span to the provider, without the query (the key is there).
    (upstream,) = provider_calls(spans, provider.url)
    assert upstream.parent_span_id == gateway.span_id
    assert upstream.attributes["server.address"] == "127.0.0.1"
    assert upstream.attributes["url.full"] == f"{provider.url}/me"
    assert upstream.attributes["server.port"] == int(provider.url.rsplit(":", 1)[1])
    assert upstream.attributes["http.response.status_code"] == 200

    # PostgreSQL spans (asyncpg instrumentation) under the requests.
    db = [
        s
        for s in spans
        if "postgresql" in (s.attributes.get("db.system.name"), s.attributes.get("db.system"))
    ]
    assert db and all(s.kind == "client" for s in db)

    # Kafka: the action's event (outbox → relay PRODUCER span → the audit consumer) and the
    # gateway's per-call event (→ its consumer), with the messaging conventions.
    (sent,) = [s for s in spans if s.kind == "producer" and s.name == "send integration.action-executed"]
    assert sent.service.startswith("hub-connectors")  # the service or its outbox relay process
    processed = one(
        spans, service="hub-connectors", kind="consumer", name="process integration.action-executed"
    )
    assert processed.parent_span_id == sent.span_id
    for span in (sent, processed):
        assert span.attributes["messaging.system"] == "kafka"
        assert span.attributes["messaging.destination.name"] == "integration.action-executed"
        assert "messaging.destination.partition.id" in span.attributes
        assert isinstance(span.attributes["messaging.kafka.offset"], int)
    api_request = one(
        spans, service="hub-connectors", kind="consumer", name="process integration.api-request"
    )
    assert api_request.parent_span_id == gateway.span_id

    # No name carries an id or a tenant; every server span has its route.
    for span in spans:
        assert cid not in span.name and TENANT not in span.name, span.name
        if span.kind == "server":
            assert "{" in span.attributes["http.route"], span
    assert_no_secret(hub, cid)


def test_a_5xx_is_an_error_span_with_its_exception(hub):
    cid = active_connection(hub)
    resp = run_action(hub, cid, "boom")
    assert resp.json()["success"] is False

    def failed_call(spans: list[ReceivedSpan]) -> bool:
        return any(s.service == "hub-gateway" and s.kind == "server" for s in spans) and bool(
            provider_calls(spans, hub["provider"].url)
        )

    spans = action_trace(hub, cid, "boom", failed_call)
    gateway = one(spans, service="hub-gateway", kind="server")
    assert gateway.attributes["http.response.status_code"] == 500 and gateway.error
    (upstream,) = provider_calls(spans, hub["provider"].url)
    assert upstream.attributes["http.response.status_code"] == 500 and upstream.error
    for span in spans:  # every 5xx server span is an error
        if span.kind == "server" and span.attributes.get("http.response.status_code", 0) >= 500:
            assert span.error, span

    # The provider dropping the connection: the gateway answers 502 from an exception, which
    # the span carries as an event.
    resp = run_action(hub, cid, "crash")
    assert resp.json()["success"] is False

    def with_exception(spans: list[ReceivedSpan]) -> bool:
        return any(s.service == "hub-gateway" and s.kind == "server" and s.events for s in spans)

    spans = action_trace(hub, cid, "crash", with_exception)
    gateway = one(spans, service="hub-gateway", kind="server")
    assert gateway.attributes["http.response.status_code"] == 502 and gateway.error
    (event,) = [e for e in gateway.events if e.name == "exception"]
    assert event.attributes["exception.type"].endswith("UpstreamUnreachable")
    assert_no_secret(hub, cid)


def assert_no_secret(hub, cid: str) -> None:
    """Neither the API key, nor the user's token, nor any token at all, in any span or payload."""
    otlp = hub["otlp"]
    forbidden = [hub["api_key"], "eyJ", "Bearer ", "api_key="]  # "eyJ": how every JWT starts
    for span in otlp.snapshot():
        text = span.text()
        assert not any(secret in text for secret in forbidden), span
    raw = b"".join(otlp.payloads)
    assert hub["api_key"].encode() not in raw


def test_the_outbox_relay_process_and_the_gateway_invalidation_consumer_export(hub):
    """Storing credentials: the vault's write → its outbox relay child's PRODUCER span → the
    gateway's invalidation consumer, in the trace of the credentials post."""
    active_connection(hub)

    def relayed_and_invalidated(spans: list[ReceivedSpan]) -> bool:
        by_id = {s.span_id: s for s in spans}
        return any(
            s.service == "hub-gateway"
            and s.kind == "consumer"
            and s.name == "process credential.changed"
            and (parent := by_id.get(s.parent_span_id)) is not None
            and parent.service == "hub-vault-outbox-relay"
            and parent.kind == "producer"
            for s in spans
        )

    spans = hub["otlp"].wait_for(relayed_and_invalidated)
    by_id = {s.span_id: s for s in spans}
    consumer = next(s for s in spans if s.service == "hub-gateway" and s.name == "process credential.changed")
    producer = by_id[consumer.parent_span_id]
    assert producer.name == "send credential.changed"
    assert consumer.attributes["messaging.destination.name"] == "credential.changed"
    writer = by_id.get(producer.parent_span_id)  # the vault's request that wrote the outbox row
    assert writer is not None and writer.service == "hub-vault" and writer.kind == "server"
