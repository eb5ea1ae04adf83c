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
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ipaddress
import socket
import ssl
import time
from collections.abc import AsyncIterator, Coroutine, Sequence
from typing import Any, cast
from urllib.parse import urlsplit

import httptools

from hub_common.ssrf import allow_listed, is_public


class UpstreamError(Exception):
    """Base of the client's failures (messages name hosts, never headers or bodies)."""


class ConnectError(UpstreamError):
    """No connection: DNS failure, refused, or an address the SSRF rules refuse."""


class ConnectTimeout(UpstreamError, TimeoutError):
    pass


class ReadTimeout(UpstreamError, TimeoutError):
    pass


class PoolBusy(UpstreamError, TimeoutError):
    """Every connection of this gateway process to the origin stayed busy for the connect
    timeout: local congestion, not a verdict on the provider."""


class Disconnected(UpstreamError):
    """The connection broke; ``response_started`` tells whether any answer byte had arrived."""

    def __init__(self, message: str, *, response_started: bool) -> None:
        super().__init__(message)
        self.response_started = response_started


class ProtocolError(UpstreamError):
    pass


class UploadBroken(Disconnected):
    """The connection broke while the caller's body was still being sent, with no answer yet:
    often the provider giving up on a caller that stalled, so not counted against it."""


class UnsendableHeader(ValueError):
    """A header we were asked to send cannot go out (a line break, NUL, or a character outside
    ISO-8859-1). Raised before anything is sent: not the provider's failure, so it is no
    ``UpstreamError`` (nothing counts it against the provider's circuit)."""


class BodyLengthMismatch(ProtocolError):
    """The request body the caller sent does not match the length it declared."""


class HeadersTooLarge(ProtocolError):
    """The answer's head is larger than the gateway buffers (nothing bounds it otherwise)."""


_PORTS = {"http": 80, "https": 443}
_HIGH_WATER = 1024 * 1024  # response bytes buffered before the socket is paused
# An answer's head: nginx's default large_client_header_buffers are 4 x 8 KiB; providers send
# ~2-4 KiB. Over either bound the answer is refused and the connection closed.
MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 256


class HeaderBlock:
    """Request header lines encoded once and checked once (no CR, LF or NUL: no request
    smuggling), for headers that are the same on many requests (a connection's credential and
    default headers)."""

    __slots__ = ("data",)

    def __init__(self, headers: Sequence[tuple[str, str]]) -> None:
        text = "".join([f"{name}: {value}\r\n" for name, value in headers])
        if text.count("\n") != len(headers) or text.count("\r") != len(headers) or "\0" in text:
            raise UnsendableHeader("a header carries a line break or NUL; refused")
        self.data = _latin1(text)


def _latin1(text: str) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise UnsendableHeader("a header value has a character outside ISO-8859-1; refused") from None


class _Connection(asyncio.Protocol):
    def __init__(self, pool: _OriginPool) -> None:
        self.pool = pool
        # Fixed for the connection's life: asking asyncio each exchange costs a getpid() syscall.
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        self._write_ok = asyncio.Event()
        self._write_ok.set()
        self.reading_paused = False
        self.chunks: collections.deque[bytes] = collections.deque()
        self.data_ready = asyncio.Event()
        self.abandoned = False  # a request body left half-sent: never reused
        self.in_pool = False  # idle between exchanges: any byte arriving now is a broken server
        self._reset()

    def _reset(self) -> None:
        """Ready for the next exchange on this connection (the previous one is fully done)."""
        if self.reading_paused:
            self._resume_reading()
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_bytes = 0
        self.content_length: bytes | None = None
        self.framed = False  # Content-Length or Transfer-Encoding seen
        self.status = 0
        self.started = False
        self.complete = False
        self.keep_alive = False
        self.error: BaseException | None = None
        self.buffered = 0
        self.chunks.clear()
        self.data_ready.clear()
        self.headers_ready: asyncio.Future[None] = self.loop.create_future()

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not asyncio subclasses

    def data_received(self, data: bytes) -> None:
        if self.in_pool:
            # Nobody asked: parsing it would mix it into the next caller's answer (a desync).
            self.close()
            return
        self.started = True
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self._fail(ProtocolError(f"invalid HTTP answer ({type(exc).__name__})"))
            self.close()
            return
        if not self.headers_ready.done():
            # Counted per packet, not per header: httptools itself grows one endless header.
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEAD_BYTES:
                self._fail(HeadersTooLarge(f"the answer's head exceeds {MAX_HEAD_BYTES} bytes"))
                self.close()

    def eof_received(self) -> bool | None:
        return None  # close the transport: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._write_ok.set()
        self.pool.forget(self)
        if not self.complete:
            if exc is None and self.headers_ready.done() and self.status and not self.framed:
                # A body delimited by closing the connection (HTTP/1.0 style) ends here.
                self.complete = True
                self.data_ready.set()
                return
            self._fail(Disconnected("the provider closed the connection", response_started=self.started))

    def pause_writing(self) -> None:
        self._write_ok.clear()

    def resume_writing(self) -> None:
        self._write_ok.set()

    # -- httptools callbacks
    def on_message_begin(self) -> None:
        if self.complete:
            # A second answer to one request: whatever it is, this connection cannot be trusted.
            exc = ProtocolError("the provider sent more than one answer")
            self._fail(exc)
            raise exc  # stops the parser; data_received closes the connection

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.headers_ready.done():
            return  # a chunked body's trailer: never merged into the answer's head
        self.headers.append((name, value))
        size = len(name)
        if len(self.headers) > MAX_HEADERS:
            exc = HeadersTooLarge(f"the answer has more than {MAX_HEADERS} headers")
            self._fail(exc)
            raise exc  # stops the parser; data_received closes the connection
        if size == 14 or size == 17:  # the two framing headers, compared only when they could be
            lower = name.lower()
            if lower == b"content-length":
                if self.content_length is None:
                    self.content_length = value
                self.framed = True
            elif lower == b"transfer-encoding":
                self.framed = True

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status == 101:  # the gateway never asks to switch protocols
            exc = ProtocolError("the provider switched protocols unasked (101)")
            self._fail(exc)
            raise exc
        if 100 <= status < 200:
            self.headers = []  # an interim answer: the real one follows
            self.content_length, self.framed = None, False
            return
        self.status = status
        self.keep_alive = self.parser.should_keep_alive()
        if not self.headers_ready.done():
            self.headers_ready.set_result(None)

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        self.data_ready.set()
        if self.buffered > _HIGH_WATER and self.transport is not None and not self.reading_paused:
            self.transport.pause_reading()
            self.reading_paused = True

    def on_message_complete(self) -> None:
        if self.status == 0:
            return  # end of an interim 1xx message
        self.complete = True
        self.data_ready.set()

    # -- helpers
    def _fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        if not self.headers_ready.done():
            self.headers_ready.set_exception(exc)
            self.headers_ready.exception()  # retrieved: marks it handled if nobody waits
        self.data_ready.set()

    def answered(self) -> bool:
        """A final answer's head has arrived (possibly before the request body was all sent)."""
        ready = self.headers_ready
        return ready.done() and ready.exception() is None and self.status != 0

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def time_out(self, message: str) -> None:
        self._fail(ReadTimeout(message))
        self.close()

    def send(self, data: bytes) -> bool:
        """Hand ``data`` to the transport; False when it asked us to pause (await :meth:`drained`)."""
        if self.closed or self.transport is None:
            raise Disconnected("the connection closed while sending", response_started=self.started)
        self.transport.write(data)
        return self._write_ok.is_set()

    async def drained(self) -> None:
        if self._write_ok.is_set():
            return
        try:  # a provider that stops reading must not hold the caller and a pool slot for ever
            async with asyncio.timeout(self.pool.client.read_timeout_s):
                await self._write_ok.wait()
        except TimeoutError:
            self.close()
            raise ReadTimeout(f"{self.pool.host} stopped reading the request") from None

    async def write(self, data: bytes) -> None:
        if not self.send(data):
            await self.drained()

    def take(self) -> bytes:
        data = b"".join(self.chunks) if len(self.chunks) > 1 else self.chunks[0]
        self.chunks.clear()
        self.buffered = 0
        # Resume even when the answer is complete: the chunk that crossed the high-water mark
        # may also have ended it, and a connection left paused would go back to the pool deaf
        # (its next answer never read: a read timeout on an innocent request).
        self._resume_reading()
        return data

    def _resume_reading(self) -> None:
        if self.reading_paused and self.transport is not None and not self.closed:
            self.transport.resume_reading()
        self.reading_paused = False


class Response:
    """A provider's answer; its body is read once, whole (:meth:`read`) or streamed."""

    __slots__ = ("_conn", "_done", "_head", "_length", "_read_timeout_s", "raw_headers", "status")

    def __init__(self, conn: _Connection, read_timeout_s: float, head: bool) -> None:
        self._conn = conn
        self._read_timeout_s = read_timeout_s
        self._head = head
        self._done = False
        self.status = conn.status
        self.raw_headers = conn.headers
        self._length = conn.content_length

    def header(self, name: str) -> str | None:
        key = name.lower().encode("latin-1")
        for n, v in self.raw_headers:
            if n.lower() == key:
                return v.decode("latin-1")
        return None

    @property
    def content_length(self) -> int | None:
        if self._head or self.status in (204, 304):
            return 0
        try:
            return int(self._length) if self._length is not None else None
        except ValueError:
            return None

    def read_complete(self) -> bytes | None:
        """The whole body if it has all arrived with the head (the common case: no await), else
        None and nothing is consumed."""
        conn = self._conn
        if conn.complete and not self._head and self.status not in (204, 304) and not self._done:
            data = conn.take() if conn.chunks else b""
            self._finish(reuse=conn.keep_alive)
            return data
        return None

    async def read(self) -> bytes:
        data = self.read_complete()
        if data is not None:
            return data
        parts = [chunk async for chunk in self.iter_chunks()]
        return b"".join(parts)

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if self._head or self.status in (204, 304):
            self._finish(reuse=not self._head and conn.complete and conn.keep_alive)
            return
        try:
            while True:
                if conn.chunks:
                    yield conn.take()
                    continue
                if conn.complete:
                    break
                if conn.error is not None:
                    raise conn.error
                conn.data_ready.clear()
                try:
                    async with asyncio.timeout(self._read_timeout_s):
                        await conn.data_ready.wait()
                except TimeoutError:
                    raise ReadTimeout("the provider stopped sending the body") from None
            self._finish(reuse=conn.keep_alive)
        finally:
            if not self._done:
                self._finish(reuse=False)

    def release(self) -> None:
        """Done with this answer: a fully read one returns its connection to the pool."""
        if not self._done:
            conn = self._conn
            self._finish(reuse=conn.complete and conn.keep_alive and not conn.chunks)

    def _finish(self, *, reuse: bool) -> None:
        if self._done:
            return
        self._done = True
        conn = self._conn
        conn.pool.release(conn, reuse=reuse and not conn.closed and not conn.abandoned)


class _OriginPool:
    def __init__(self, client: Http1Client, scheme: str, host: str, port: int) -> None:
        self.client = client
        self.scheme, self.host, self.port = scheme, host, port
        name = f"[{host}]" if ":" in host else host  # IPv6 literals are bracketed
        self.host_header = name if port == (443 if scheme == "https" else 80) else f"{name}:{port}"
        self.idle: list[_Connection] = []
        self.slots = asyncio.Semaphore(client.max_connections)
        self.open = 0

    async def acquire(self) -> _Connection:
        if self.slots.locked():  # every connection busy: wait, but not forever
            try:
                async with asyncio.timeout(self.client.connect_timeout_s):
                    await self.slots.acquire()
            except TimeoutError:
                raise PoolBusy(
                    f"all {self.client.max_connections} connections to {self.host}:{self.port} stayed busy"
                ) from None
        else:
            await self.slots.acquire()
        now = time.monotonic()
        timeout = self.client.idle_timeout_s
        while self.idle and now - self.idle[0].idle_since >= timeout:
            self.idle.pop(0).close()  # the oldest end: LIFO reuse alone would never reach them
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed and now - conn.idle_since < timeout:
                conn.in_pool = False
                conn._reset()
                return conn
            conn.close()
        try:
            return await self._connect()
        except BaseException:
            self.slots.release()
            raise

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        address = await self.client.resolve(self.host, self.port)
        ssl_ctx = self.client.ssl_context if self.scheme == "https" else None
        try:
            async with asyncio.timeout(self.client.connect_timeout_s):
                _, protocol = await loop.create_connection(
                    lambda: _Connection(self),
                    address,
                    self.port,
                    ssl=ssl_ctx,
                    server_hostname=self.host if ssl_ctx else None,
                )
        except TimeoutError:
            raise ConnectTimeout(f"{self.host}:{self.port} did not accept a connection in time") from None
        except (OSError, ssl.SSLError) as exc:
            raise ConnectError(f"cannot connect to {self.host}:{self.port} ({type(exc).__name__})") from None
        self.open += 1
        return protocol

    def release(self, conn: _Connection, *, reuse: bool) -> None:
        if reuse and len(self.idle) < self.client.max_idle:
            conn.idle_since = time.monotonic()
            conn.in_pool = True
            self.idle.append(conn)
        else:
            conn.close()
        self.slots.release()

    def forget(self, conn: _Connection) -> None:
        self.open -= 1
        with contextlib.suppress(ValueError):
            self.idle.remove(conn)


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
        self._pools: dict[tuple[str, str, int], _OriginPool] = {}
        self._bases: dict[str, tuple[_OriginPool, str]] = {}
        self._dns: dict[tuple[str, int], tuple[float, str]] = {}

    def _pool(self, scheme: str, host: str, port: int) -> _OriginPool:
        key = (scheme, host, port)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = _OriginPool(self, scheme, host, port)
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

    def _base(self, base_url: str) -> tuple[_OriginPool, str]:
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
        pool: _OriginPool,
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
        head = _latin1(text + "\r\n\r\n") if block is None else b"%b\r\n%b\r\n" % (_latin1(text), block.data)
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

    async def _send_stream(
        self, conn: _Connection, body: AsyncIterator[bytes], *, length: int | None
    ) -> None:
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
