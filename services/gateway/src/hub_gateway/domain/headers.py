"""Header hygiene for both directions of a proxied call.

To the provider: hop-by-hop headers (RFC 9110 §7.6.1, plus any named in ``Connection``), the
caller's own credentials (``Authorization``, cookies, the credential header this connection
injects) and the hub's internal ``X-Hub-*`` headers never pass; nor does anything that describes
the hub's inside to a third party: trace context (W3C, B3, Jaeger, X-Ray, Cloud Trace, Datadog,
Sentry), ``baggage``, request and correlation ids, ``X-Forwarded-*`` and the client-address
headers. The gateway adds its own trace context and ``X-Forwarded-*`` only for the connectors
an operator opted in (``HUB_GATEWAY_PROPAGATE_CONTEXT_TO``).

Back to the caller: hop-by-hop headers and the provider's cookies are dropped (a session cookie
would let the caller use the provider directly, outside the gateway's credential, limits and
revocation), and an injected query key the provider echoes (in ``Location`` or ``Link``) is
scrubbed (from bodies too: :mod:`hub_gateway.domain.body_scrub`).
"""

from __future__ import annotations

from collections.abc import Iterable

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Never forwarded to a provider, whatever the caller sends.
_REQUEST_DROP = HOP_BY_HOP | {
    b"host",
    b"authorization",
    b"cookie",
    b"content-length",  # recomputed from the body we actually send
    b"expect",
    b"forwarded",
    b"via",
    # Headers some servers read as the client's address or the original URL: only the gateway
    # says who called (every X-Forwarded-* goes, by prefix, below).
    b"x-real-ip",
    b"x-client-ip",
    b"true-client-ip",
    b"cf-connecting-ip",
    b"fastly-client-ip",
    b"x-cluster-client-ip",
    b"x-original-url",
    b"x-rewrite-url",
    b"x-original-forwarded-for",
    # The hub's trace context and request ids: internal topology, not the provider's business
    # (an opted-in connector gets the gateway's own traceparent instead).
    b"traceparent",
    b"tracestate",
    b"baggage",
    b"b3",
    b"uber-trace-id",
    b"x-amzn-trace-id",
    b"x-cloud-trace-context",
    b"grpc-trace-bin",
    b"sentry-trace",
    b"x-request-id",
    b"x-correlation-id",
    b"request-id",
    b"x-ot-span-context",
}
# Whole families, by prefix (one ``startswith`` with a tuple per header).
_DROP_PREFIXES = (b"x-hub-", b"x-forwarded-", b"x-b3-", b"x-datadog-", b"uberctx-", b"ot-baggage-")
# Content-Length of a provider answer is kept: bodies pass through byte for byte (a transform
# that changes the body sets its own).
_RESPONSE_DROP = HOP_BY_HOP | {b"set-cookie", b"set-cookie2"}
SCRUBBED = b"[redacted]"

RawHeaders = Iterable[tuple[bytes, bytes]]


def _tokens(value: bytes) -> set[bytes]:
    return {t.strip().lower() for t in value.split(b",") if t.strip()}


def request_headers(
    headers: list[tuple[bytes, bytes]], *, also_drop: Iterable[bytes] = ()
) -> list[tuple[str, str]]:
    """The caller's headers that may reach the provider (names lower-case, as ASGI gives them).

    One pass; the names a ``Connection`` header lists (rare) are dropped afterwards."""
    extra = tuple(also_drop)
    out: list[tuple[str, str]] = []
    named: set[bytes] | None = None
    for name, value in headers:
        if name in _REQUEST_DROP or name in extra or name.startswith(_DROP_PREFIXES):
            if name == b"connection":
                named = _tokens(value) if named is None else named | _tokens(value)
            continue
        out.append((name.decode("latin-1"), value.decode("latin-1")))
    if named:
        listed = {n.decode("latin-1") for n in named}
        out = [(n, v) for n, v in out if n not in listed]
    return out


# "Connection" values that name no other header (keep-alive and close are not header names
# anyone sends): nothing to look for.
_PLAIN_CONNECTION = frozenset({b"keep-alive", b"close", b"Keep-Alive", b"Close"})
_RESPONSE_NAMES: dict[bytes, bytes | None] = {}  # raw name → lower-case name, or None: dropped


def response_headers(
    headers: list[tuple[bytes, bytes]], scrub: tuple[bytes, ...] = ()
) -> list[tuple[bytes, bytes]]:
    """The provider's headers that may reach the caller (names lower-case), with every ``scrub``
    value replaced wherever it appears."""
    out: list[tuple[bytes, bytes]] = []
    named: set[bytes] | None = None
    for name, value in headers:
        lower = _RESPONSE_NAMES.get(name, b"")
        if lower == b"":
            lower = name.lower()
            lower = None if lower in _RESPONSE_DROP else lower
            if len(_RESPONSE_NAMES) < 4096:
                _RESPONSE_NAMES[name] = lower
        if lower is None:
            if name.lower() == b"connection" and value not in _PLAIN_CONNECTION:
                named = (named or set()) | _tokens(value)
            continue
        out.append((lower, value))
    if named:
        out = [(n, v) for n, v in out if n not in named]
    if scrub:
        # One search over all values (an echo is rare; a search per header cost ~6 us a call).
        joined = b"\n".join([v for _, v in out])
        for secret in scrub:
            if secret in joined:
                return [(n, _scrubbed(v, scrub)) for n, v in out]
    return out


def _scrubbed(value: bytes, secrets: tuple[bytes, ...]) -> bytes:
    for secret in secrets:
        if secret in value:
            value = value.replace(secret, SCRUBBED)
    return value


def forwarded_headers(client_ip: str | None, scheme: str, host: str | None) -> list[tuple[str, str]]:
    out = [("x-forwarded-proto", scheme)]
    if client_ip:
        out.append(("x-forwarded-for", client_ip))
    if host:
        out.append(("x-forwarded-host", host))
    return out
