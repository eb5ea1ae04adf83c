"""The gateway's HTTP/1.1 server protocol: uvicorn's httptools protocol, with each answer written
to the socket in one ``send()``.

uvicorn writes an answer's head and its body separately, so a small answer costs two system
calls (and two loopback segments) where one would do; on the gateway's hot path that second
write was ~5% of a worker's CPU (py-spy under bench/gateway_bench.py). Here writes are held for
at most the rest of the current event-loop callback and go out together: when the answer is
complete, when the held bytes pass ``MAX_HELD_BYTES``, when the transport closes, or — for an
answer whose body comes later (a stream) — at the loop's next turn. Nothing else changes:
parsing, keep-alive, flow control and pipelining stay uvicorn's.

``hub-gateway serve`` selects it (uvicorn's ``http=`` option, see cli.py).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

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


class OneWriteHttpProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(cast(asyncio.Transport, CoalescingTransport(transport, self.loop)))

    def on_response_complete(self) -> None:
        # The answer is whole: out it goes now (one write), before the app's after-answer work.
        cast(CoalescingTransport, self.transport).flush()
        super().on_response_complete()
