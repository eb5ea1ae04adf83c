"""The gateway's upstream HTTP/1.1 client: keep-alive pools per origin, llhttp parsing (httptools),
streaming both ways. Chosen by measurement over aiohttp and httpx (ADR 0006).

What it does, and only that:
* one pool per ``scheme://host:port``, at most ``max_connections`` open per origin (callers wait
  for a free one), idle connections reused LIFO and closed after ``idle_timeout_s``;
* DNS answers cached for ``dns_ttl_s`` and re-checked against the SSRF rules on every
  resolution, so a host that passed the base-URL check cannot be rebound to an internal address
  (literal IPs are checked once with the base URL and never reach the resolver);
* TLS with the system's trust store (plus ``ca_file`` for private CAs, e.g. GitHub Enterprise);
* request bodies as bytes (one write with the head) or an async iterator (``Content-Length``
  when known, else chunked), with write flow control; response bodies read whole or as a stream
  with read flow control (the socket pauses while the caller is behind);
* bytes pass through untouched: no decompression, no header added but ``Host`` and the framing;
* a connect timeout and a read timeout (between bytes), each its own exception;
* no retries: the gateway's retry policy (services/proxy.py) decides, knowing the method.

A response to ``HEAD`` has no body whatever its headers say; llhttp cannot be told so, hence
such connections are not reused. ``1xx`` interim answers are skipped.

The package's parts: ``errors`` (all a caller needs to tell failures apart; the proxy service
imports only these and ``headers``), ``headers`` (header blocks encoded once), ``connection``
(one socket's protocol and the answer read from it), ``pool`` (the connections per origin),
``client`` (DNS with SSRF checks, requests).
"""

from hub_gateway.adapters.http1.client import Http1Client
from hub_gateway.adapters.http1.connection import Response
from hub_gateway.adapters.http1.errors import (
    BodyLengthMismatch,
    ConnectError,
    ConnectTimeout,
    Disconnected,
    HeadersTooLarge,
    PoolBusy,
    ProtocolError,
    ReadTimeout,
    UnsendableHeader,
    UploadBroken,
    UpstreamError,
)
from hub_gateway.adapters.http1.headers import HeaderBlock

__all__ = [
    "BodyLengthMismatch",
    "ConnectError",
    "ConnectTimeout",
    "Disconnected",
    "HeaderBlock",
    "HeadersTooLarge",
    "Http1Client",
    "PoolBusy",
    "ProtocolError",
    "ReadTimeout",
    "Response",
    "UnsendableHeader",
    "UploadBroken",
    "UpstreamError",
]
