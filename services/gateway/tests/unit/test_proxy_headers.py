"""The headers a provider receives: per-call headers plus the connection's pre-encoded block
(default headers + credential) add up to exactly the documented rules, whichever way they are
split."""

from __future__ import annotations

import itertools
import uuid

import pytest

from hub_connector_sdk.models import AuthenticationMethod
from hub_gateway.adapters.http1 import HeaderBlock, UnsendableHeader
from hub_gateway.domain.connection import ConnectionTarget
from hub_gateway.domain.injection import Injection
from hub_gateway.services.proxy import ProxyRequest, ProxyService, ProxySettings

pytestmark = pytest.mark.unit
CID = uuid.uuid4()


def target(defaults: dict[str, str]) -> ConnectionTarget:
    return ConnectionTarget(
        id=CID,
        tenant_id="t",
        connector_id="c",
        status="active",
        auth_method=AuthenticationMethod.API_KEY,
        custom=False,
        base_url="https://api.example.com",
        allowed_hosts=("api.example.com",),
        default_headers=tuple((k.lower(), v) for k, v in defaults.items()),
        api_key=None,
        credential_keys=("api_key",),
    )


def service(propagate: frozenset[str] = frozenset()) -> ProxyService:
    return ProxyService(
        client=None,  # type: ignore[arg-type]
        resolver=None,  # type: ignore[arg-type]
        limiter=None,  # type: ignore[arg-type]
        budgets=None,  # type: ignore[arg-type]
        snapshots=None,  # type: ignore[arg-type]
        circuits=None,  # type: ignore[arg-type]
        refresher=None,  # type: ignore[arg-type]
        transforms=None,
        settings=ProxySettings(propagate_context_to=propagate),
    )


# The rules as services/gateway/README.md ("Headers") states them, for the headers this test's
# callers send, spelled out here rather than taken from hub_gateway.domain.headers: an oracle
# built from the code under test agrees with it whatever it does.
NEVER_SENT = {
    "host",  # the provider's own, from the connection's base URL
    "authorization",  # the caller's credential for the hub, never the provider's
    "x-hub-tenant",  # X-Hub-*: the hub's internal headers
    "traceparent",  # W3C Trace Context (the hub's trace); an opted-in connector gets the gateway's
}
TRACEPARENT = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"  # the call's, as the gateway received it
FORWARDED = [  # de-facto X-Forwarded-* (MDN), for opted-in connectors only
    ("x-forwarded-proto", "https"),
    ("x-forwarded-for", "10.0.0.1"),
    ("x-forwarded-host", "gw"),
]


def documented(
    defaults: dict[str, str], caller: tuple[tuple[bytes, bytes], ...], injection: Injection, propagate: bool
) -> list[tuple[str, str]]:
    """What the provider must receive, computed the plain way from the stated rules."""
    drop = set(NEVER_SENT)
    if injection.header:  # the connection's credential header replaces the caller's
        drop.add(injection.header[0])
    if injection.query:  # a query key may be echoed: the answer comes uncompressed, to mask it
        drop.add("accept-encoding")
    headers = [(n.decode(), v.decode()) for n, v in caller if n.decode() not in drop]
    # A default header is added unless the caller set its own; "Accept: */*" counts as unset.
    own = {n for n, v in headers if not (n == "accept" and v.strip() == "*/*")}
    added = [(n.lower(), v) for n, v in defaults.items() if n.lower() not in own]
    headers = [(n, v) for n, v in headers if n not in {a for a, _ in added}] + added
    if propagate:
        headers += [*FORWARDED, ("traceparent", TRACEPARENT)]
    if injection.header:
        headers.append(injection.header)
    return sorted(headers)


def sent(headers: list[tuple[str, str]], block: HeaderBlock) -> list[tuple[str, str]]:
    lines = [line.split(": ", 1) for line in block.data.decode("latin-1").split("\r\n") if line]
    return sorted(headers + [(n, v) for n, v in lines])


CALLER = [
    (b"accept", b"*/*"),
    (b"accept", b" */* "),
    (b"accept", b"application/vnd.custom+json"),
    (b"notion-version", b"2021-01-01"),
    (b"user-agent", b"httpx"),
    (b"authorization", b"Bearer caller-token"),
    (b"x-api-key", b"caller-key"),
    (b"x-hub-tenant", b"t"),
    (b"accept-encoding", b"gzip"),
    (b"traceparent", b"00-" + b"c" * 32 + b"-" + b"d" * 16 + b"-01"),
]
DEFAULTS = [
    {},
    {"Accept": "application/json"},
    {"Accept": "application/json", "Notion-Version": "2022-06-28"},
]
INJECTIONS = [
    Injection(header=("x-api-key", "sk-1")),
    Injection(header=("authorization", "Bearer sk-2")),
    Injection(),
    Injection(query=("api_key", "sk-3-0123456789"), secrets=("sk-3-0123456789",)),
]


@pytest.mark.parametrize("propagate", [frozenset(), frozenset({"c"}), frozenset({"*"}), frozenset({"other"})])
@pytest.mark.parametrize("defaults", DEFAULTS)
@pytest.mark.parametrize("injection", INJECTIONS)
def test_block_and_call_headers_add_up_to_the_rules(defaults, injection, propagate):
    proxy = service(propagate)
    opted_in = bool(propagate & {"c", "*"})
    t = target(defaults)
    for n in range(3):
        for caller in itertools.combinations(CALLER, n):
            req = _request(list(caller))
            headers, block = proxy._headers(t, req, injection, None)
            assert sent(headers, block) == documented(defaults, caller, injection, opted_in), caller


def _request(caller: list[tuple[bytes, bytes]]) -> ProxyRequest:
    return ProxyRequest(
        connection_id=CID,
        method="GET",
        provider_path="/x",
        query="",
        headers=[(b"host", b"gw"), *caller],
        client_ip="10.0.0.1",
        scheme="https",
        host="gw",
        traceparent=TRACEPARENT,
    )


def test_a_notion_call_as_the_provider_sees_it():
    """Literal: the caller's token and the hub's headers gone, Notion-Version and Accept from
    the manifest (the caller's "*/*" counts as unset), the connection's own bearer token."""
    req = _request(
        [
            (b"accept", b"*/*"),
            (b"authorization", b"Bearer caller-token"),
            (b"x-hub-tenant", b"t"),
            (b"traceparent", b"00-" + b"c" * 32 + b"-" + b"d" * 16 + b"-01"),
            (b"user-agent", b"httpx"),
        ]
    )
    t = target({"Accept": "application/json", "Notion-Version": "2022-06-28"})
    headers, block = service()._headers(t, req, Injection(header=("authorization", "Bearer sk-2")), None)
    assert sent(headers, block) == [
        ("accept", "application/json"),
        ("authorization", "Bearer sk-2"),
        ("notion-version", "2022-06-28"),
        ("user-agent", "httpx"),
    ]


def test_an_opted_in_connector_with_a_query_key_as_the_provider_sees_it():
    """Literal: the caller's own Notion-Version wins over the manifest's, Accept-Encoding goes (an
    echoed query key must be maskable), the gateway's trace context and X-Forwarded-* come in."""
    req = _request(
        [
            (b"notion-version", b"2021-01-01"),
            (b"accept-encoding", b"gzip"),
            (b"x-api-key", b"caller-key"),
        ]
    )
    t = target({"Notion-Version": "2022-06-28"})
    injection = Injection(query=("api_key", "sk-3-0123456789"), secrets=("sk-3-0123456789",))
    headers, block = service(frozenset({"c"}))._headers(t, req, injection, None)
    assert sent(headers, block) == [
        ("notion-version", "2021-01-01"),
        ("traceparent", "00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01"),
        ("x-api-key", "caller-key"),  # not this connection's credential header: the caller's own
        ("x-forwarded-for", "10.0.0.1"),
        ("x-forwarded-host", "gw"),
        ("x-forwarded-proto", "https"),
    ]


def test_blocks_follow_the_cache_entries():
    proxy = service()
    t = target({"Accept": "application/json"})
    first, second = Injection(header=("x-api-key", "old")), Injection(header=("x-api-key", "new"))
    assert proxy._blocks_for(t, first) is proxy._blocks_for(t, first)  # encoded once
    assert b"x-api-key: new\r\n" in proxy._blocks_for(t, second).with_defaults.data  # a rotated key
    t2 = target({"Accept": "application/xml"})  # a reloaded connection
    assert b"accept: application/xml\r\n" in proxy._blocks_for(t2, second).with_defaults.data


@pytest.mark.parametrize("bad", ["a\r\nx-evil: 1", "a\nb", "a\rb", "a\0b", "blue\u2014green"])
def test_a_block_refuses_line_breaks_and_what_latin_1_cannot_hold(bad):
    with pytest.raises(UnsendableHeader):
        HeaderBlock([("x-api-key", bad)])
    assert HeaderBlock([("x-a", "1"), ("x-b", "2")]).data == b"x-a: 1\r\nx-b: 2\r\n"
    assert HeaderBlock([]).data == b""
