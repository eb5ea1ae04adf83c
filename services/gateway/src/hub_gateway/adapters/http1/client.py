"""The client: DNS answers cached and re-checked against the SSRF rules, one pool per origin,
requests written and their answers' heads awaited."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections.abc import AsyncIterator, Coroutine, Sequence
from typing import Any
from urllib.parse import urlsplit

from hub_common.ssrf import allow_listed, is_public
from hub_gateway.adapters.http1.connection import Connection, Response
from hub_gateway.adapters.http1.errors import (
    BodyLengthMismatch,
    ConnectError,
    ConnectTimeout,
    Disconnected,
    UnsendableHeader,
    UploadBroken,
)
from hub_gateway.adapters.http1.headers import HeaderBlock, latin1
from hub_gateway.adapters.http1.pool import OriginPool

_PORTS = {"http": 80, "https": 443}


class Http1Client:
    def __init__(
        self,
        *,
        allowlist: Sequence[str],
        connect_timeout_s: float,
        read_timeout_s: float,
        max_connections: int = 512,
        max_idle: int = 128,
        idle_timeout_s: float = 15.0,
        dns_ttl_s: float = 30.0,
        ca_file: str | None = None,
    ) -> None:
        self.allowlist = list(allowlist)
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.max_connections = max_connections
        self.max_idle = max_idle
        self.idle_timeout_s = idle_timeout_s
        self.dns_ttl_s = dns_ttl_s
        self.ssl_context = ssl.create_default_context()
        if ca_file:
            self.ssl_context.load_verify_locations(ca_file)
        self._pools: dict[tuple[str, str, int], OriginPool] = {}
        self._bases: dict[str, tuple[OriginPool, str]] = {}
        self._dns: dict[tuple[str, int], tuple[float, str]] = {}

    def _pool(self, scheme: str, host: str, port: int) -> OriginPool:
        key = (scheme, host, port)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = OriginPool(self, scheme, host, port)
        return pool

    async def resolve(self, host: str, port: int) -> str:
        try:
            ipaddress.ip_address(host)
            return host  # a literal: checked with the base URL, nothing to rebind
        except ValueError:
            pass
        cached = self._dns.get((host, port))
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError:
            raise ConnectTimeout(f"resolving {host} took too long") from None
        except (OSError, UnicodeError):  # UnicodeError: a label IDNA refuses (empty, > 63)
            raise ConnectError(f"{host} does not resolve") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        if allow_listed(host.lower().rstrip("."), port, addresses, self.allowlist):
            chosen = str(addresses[0])
        else:
            public = [a for a in addresses if is_public(a)]
            if not public:
                raise ConnectError(f"{host} resolves only to non-public addresses (refused)")
            chosen = str(public[0])
        self._dns[(host, port)] = (now + self.dns_ttl_s, chosen)
        return chosen

    def _base(self, base_url: str) -> tuple[OriginPool, str]:
        """A base URL's pool and path prefix, split once: a provider call then costs a dict lookup
        instead of a URL parse (``urlsplit``'s own cache misses whenever the query differs)."""
        known = self._bases.get(base_url)
        if known is None:
            parts = urlsplit(base_url)
            scheme = parts.scheme
            pool = self._pool(scheme, (parts.hostname or "").lower(), parts.port or _PORTS.get(scheme, 80))
            known = (pool, parts.path.rstrip("/"))
            if len(self._bases) >= 10_000:
                self._bases.clear()
            self._bases[base_url] = known
        return known

    async def request(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | AsyncIterator[bytes] | None = None,
        *,
        body_length: int | None = None,
    ) -> Response:
        """Send one request and wait for the answer's head. ``url`` is absolute and already
        percent-encoded as it must go out."""
        parts = urlsplit(url)
        scheme = parts.scheme
        pool = self._pool(scheme, (parts.hostname or "").lower(), parts.port or _PORTS.get(scheme, 80))
        target = parts.path or "/"
        if parts.query:
            target = f"{target}?{parts.query}"
        return await self._exchange(pool, method, target, headers, body, body_length)

    def request_at(
        self,
        method: str,
        base_url: str,
        path: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | AsyncIterator[bytes] | None = None,
        *,
        body_length: int | None = None,
        block: HeaderBlock | None = None,
    ) -> Coroutine[Any, Any, Response]:
        """:meth:`request` to ``base_url`` + ``path`` (``/...``, with its ``?query``, encoded as it
        must go out); the base URL is split once and remembered. ``block``: headers encoded (and
        checked) beforehand, sent after ``headers``. A plain function handing back the exchange's
        coroutine: one frame less on every resumption of the call."""
        pool, prefix = self._base(base_url)
        return self._exchange(pool, method, prefix + path, headers, body, body_length, block)

    async def _exchange(
        self,
        pool: OriginPool,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | AsyncIterator[bytes] | None,
        body_length: int | None,
        block: HeaderBlock | None = None,
    ) -> Response:
        lines = [f"{method} {target} HTTP/1.1", f"host: {pool.host_header}"]
        lines.extend([f"{name}: {value}" for name, value in headers])
        stream: AsyncIterator[bytes] | None = None
        payload = b""
        if isinstance(body, bytes | bytearray):
            payload = bytes(body)
        elif body is not None:
            stream = body
        if stream is not None:
            lines.append(
                f"content-length: {body_length}" if body_length is not None else "transfer-encoding: chunked"
            )
        elif payload:
            lines.append(f"content-length: {len(payload)}")
        elif method in ("POST", "PUT", "PATCH"):
            lines.append("content-length: 0")
        text = "\r\n".join(lines)
        # No request smuggling: a CR, LF or NUL inside any line (three scans of one string; the
        # separators account for exactly len(lines) - 1 of each).
        breaks = len(lines) - 1
        if text.count("\n") != breaks or text.count("\r") != breaks or "\0" in text:
            raise UnsendableHeader("a header carries a line break or NUL; refused")
        head = latin1(text + "\r\n\r\n") if block is None else b"%b\r\n%b\r\n" % (latin1(text), block.data)
        conn = await pool.acquire()
        try:
            if stream is not None:
                await conn.write(head)
                try:
                    await self._send_stream(conn, stream, length=body_length)
                except Disconnected as exc:
                    # A provider may answer before the body is in (413, 401) and close: that
                    # answer is the result, not a broken connection.
                    if not conn.answered():
                        raise UploadBroken(str(exc), response_started=False) from None
                    conn.abandoned = True
            elif not conn.send(head + payload if payload else head):
                await conn.drained()
            if not conn.headers_ready.done():
                # A plain timer (cheaper than asyncio.timeout on this path) fails the wait.
                timer = conn.loop.call_later(
                    self.read_timeout_s, conn.time_out, f"{pool.host} did not answer in time"
                )
                try:
                    await conn.headers_ready
                finally:
                    timer.cancel()
            elif conn.error is not None:
                raise conn.error
        except BaseException:
            pool.release(conn, reuse=False)
            raise
        return Response(conn, self.read_timeout_s, head=method == "HEAD")

    async def _send_stream(self, conn: Connection, body: AsyncIterator[bytes], *, length: int | None) -> None:
        """``length`` None: chunked. Otherwise exactly ``length`` bytes, or the request is
        abandoned (its connection is not reused): a byte more would be read by the provider as
        the start of another request on a shared connection."""
        sent = 0
        async for chunk in body:
            if conn.answered():
                conn.abandoned = True  # the provider has decided: stop sending, never reuse
                return
            if not chunk:
                continue
            sent += len(chunk)
            if length is not None and sent > length:
                raise BodyLengthMismatch("the request body is longer than its Content-Length")
            await conn.write(chunk if length is not None else b"%x\r\n%b\r\n" % (len(chunk), chunk))
        if length is None:
            await conn.write(b"0\r\n\r\n")
        elif sent != length:
            raise BodyLengthMismatch("the request body is shorter than its Content-Length")

    def stats(self) -> dict[str, Any]:
        return {
            f"{s}://{h}:{p}": {"open": pool.open, "idle": len(pool.idle)}
            for (s, h, p), pool in self._pools.items()
        }

    async def close(self) -> None:
        for pool in self._pools.values():
            for conn in pool.idle:
                conn.close()
            pool.idle.clear()
        self._pools.clear()
        self._bases.clear()
