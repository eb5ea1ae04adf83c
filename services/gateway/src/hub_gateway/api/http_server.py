"""The gateway's HTTP/1.1 server protocol: uvicorn's httptools protocol, with each answer written
to the socket in one ``send()``.

uvicorn writes an answer's head and its body separately, so a small answer costs two system
calls (and two loopback segments) where one would do; on the gateway's hot path that second
write was ~5% of a worker's CPU (py-spy under bench/gateway_bench.py). Here writes are held for
at most the rest of the current event-loop callback and go out together: when the answer is
complete, when the held bytes pass ``MAX_HELD_BYTES``, when the transport closes, or — for an
answer whose body comes later (a stream) — at the loop's next turn. Nothing else changes:
parsing, keep-alive, flow control and pipelining stay uvicorn's. The answer's head is also
checked in two scans instead of two per header (``_OneScanCycle``).

``hub-gateway serve`` selects it (uvicorn's ``http=`` option, see cli.py).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

MAX_HELD_BYTES = 64 * 1024  # larger writes (streamed bodies) are not copied into a held buffer


class CoalescingTransport:
    """A transport that joins the writes of one loop turn into one write of the real transport."""

    __slots__ = ("_handle", "_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: bytes | None = None
        self._handle: asyncio.Handle | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        pending = self._pending
        if pending is None:
            if len(data) >= MAX_HELD_BYTES:
                self._transport.write(data)
                return
            self._pending = bytes(data)
            self._handle = self._loop.call_soon(self.flush)
            return
        self._pending = pending + data
        if len(self._pending) >= MAX_HELD_BYTES:
            self.flush()

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        """Hand what is held to the real transport now."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        data = self._pending
        if data is not None:
            self._pending = None
            if not self._transport.is_closing():
                self._transport.write(data)

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._pending = None
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._pending or b"")

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        # Everything else (extra info, reading, buffer limits, set_protocol) is the real one's.
        return getattr(self._transport, name)


class _OneScanCycle(RequestResponseCycle):
    """uvicorn's request/response cycle, with the answer's head checked in two regex scans (all
    names, all values) instead of two per header: the same checks, the same bytes (pinned by
    tests/unit/test_http_server.py). Anything unusual goes to uvicorn's own code."""

    async def send(self, message: ASGISendEvent) -> None:
        if (
            message["type"] != "http.response.start"
            or self.response_started
            or self.disconnected
            or self.flow.write_paused
            or self.access_log
            or self.default_headers
        ):
            await super().send(message)
            return
        headers = list(message.get("headers", []))
        # Names may hold no separator or control character, values no control but tab: joined
        # names with nothing between them, values with a tab, say the same as one scan each.
        if HEADER_RE.search(b"".join([n for n, _ in headers])) or HEADER_VALUE_RE.search(
            b"\t".join([v for _, v in headers])
        ):
            await super().send(message)  # uvicorn raises, naming what is wrong
            return
        self.response_started = True
        self.waiting_for_100_continue = False
        status = message["status"]
        content = [STATUS_LINE[status]]
        has_connection_close = False
        for name, value in headers:
            name = name.lower()
            if name == b"content-length" and self.chunked_encoding is None:
                self.expected_content_length = int(value.decode())
                self.chunked_encoding = False
            elif name == b"transfer-encoding" and value.lower() == b"chunked":
                self.expected_content_length = 0
                self.chunked_encoding = True
            elif name == b"connection" and b"close" in [t.lower().strip() for t in value.split(b",")]:
                self.keep_alive = False
                has_connection_close = True
            content.extend([name, b": ", value, b"\r\n"])
        if not self.keep_alive and not has_connection_close:
            content.append(b"connection: close\r\n")
        if self.chunked_encoding is None and self.scope["method"] != "HEAD" and status not in (204, 304):
            self.chunked_encoding = True
            content.append(b"transfer-encoding: chunked\r\n")
        content.append(b"\r\n")
        self.transport.write(b"".join(content))


class OneWriteHttpProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(cast(asyncio.Transport, CoalescingTransport(transport, self.loop)))

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if type(self.cycle) is RequestResponseCycle:
            # The cycle uvicorn just made, started or queued; its send() is looked up when the
            # app first calls it, so the subclass's applies. Same attributes, no new state.
            self.cycle.__class__ = _OneScanCycle

    def on_response_complete(self) -> None:
        # The answer is whole: out it goes now (one write), before the app's after-answer work.
        cast(CoalescingTransport, self.transport).flush()
        super().on_response_complete()
