"""An httpx transport that applies the SSRF policy when it connects, not only before.

``check_url`` judges a URL by resolving its host; the HTTP client then resolves it again to
connect. A name whose answers change between the two (DNS rebinding: public for the check,
127.0.0.1 or 169.254.169.254 for the connect) would slip through. This transport's network
backend resolves the host once per connection, judges every address with the same policy
(``hub_common.ssrf``) and connects to one of the addresses it judged. TLS still verifies the
certificate against the URL's host name (httpcore sends it as SNI). A refusal raises
:class:`~hub_common.ssrf.UrlNotAllowed` (400 ``url_not_allowed``), which no retry loop takes for
a network error; a name that does not resolve is an ``httpcore.ConnectError`` (``httpx.ConnectError``
to the caller), like any other network failure, so it is retried as one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import httpcore
import httpx

from hub_common.ssrf import HostUnresolvable, checked_addresses

# httpx.AsyncClient's own defaults.
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)


class _PolicyBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, allowlist: Sequence[str]) -> None:
        self._allowlist = list(allowlist)
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await checked_addresses(host, port, allowlist=self._allowlist)
        except HostUnresolvable as exc:
            raise httpcore.ConnectError(exc.message) from None  # DNS trouble: a network error
        if not addresses:  # allow-listed by name, but it does not resolve
            raise httpcore.ConnectError(f"host {host} does not resolve")
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # the next address, as a resolver-driven client would
        raise failure if failure is not None else httpcore.ConnectError(f"no address of {host} to connect to")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not an outbound destination")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PolicyTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` (no proxy), connecting only where the SSRF policy allows."""

    def __init__(self, *, allowlist: Sequence[str] = (), limits: httpx.Limits = DEFAULT_LIMITS) -> None:
        super().__init__(limits=limits)
        # The parent builds its pool without a way to pass a network backend: rebuild it with
        # the same settings and ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PolicyBackend(allowlist),
        )
