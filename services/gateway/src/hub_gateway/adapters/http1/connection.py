"""One upstream socket: an asyncio protocol fed to llhttp (httptools), with flow control both ways,
and the :class:`Response` read from it."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, cast

import httptools

from hub_gateway.adapters.http1.errors import (
    Disconnected,
    HeadersTooLarge,
    ProtocolError,
    ReadTimeout,
)

if TYPE_CHECKING:
    from hub_gateway.adapters.http1.pool import OriginPool

HIGH_WATER = 1024 * 1024  # response bytes buffered before the socket is paused
# An answer's head: nginx's default large_client_header_buffers are 4 x 8 KiB; providers send
# ~2-4 KiB. Over either bound the answer is refused and the connection closed.
MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 256


class Connection(asyncio.Protocol):
    def __init__(self, pool: OriginPool) -> None:
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
        if self.buffered > HIGH_WATER and self.transport is not None and not self.reading_paused:
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

    def __init__(self, conn: Connection, read_timeout_s: float, head: bool) -> None:
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
