"""The gateway's server protocol writes each answer in one ``send()`` and otherwise behaves as
uvicorn's: the same bytes, keep-alive, streaming, closing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from hub_gateway.api.http_server import MAX_HELD_BYTES, CoalescingTransport, OneWriteHttpProtocol

pytestmark = pytest.mark.unit


class FakeTransport:
    """Records what reaches the socket, one entry per ``write``."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def write_eof(self) -> None:
        self.writes.append(b"<eof>")

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def next_turn() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_writes_of_one_turn_go_out_as_one():
    real = FakeTransport()
    t = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    t.write(b"head\r\n\r\n")
    t.write(b"body")
    assert real.writes == [] and t.get_write_buffer_size() == 12
    await next_turn()
    assert real.writes == [b"head\r\n\r\nbody"]
    t.write(b"later")  # a later turn: its own write
    await next_turn()
    assert real.writes[-1] == b"later" and len(real.writes) == 2


async def test_large_writes_are_not_held_and_order_is_kept():
    real = FakeTransport()
    t = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    big = b"x" * MAX_HELD_BYTES
    t.write(big)
    assert real.writes == [big]
    t.write(b"head")
    t.write(big)  # joins what is held, then goes at once
    assert real.writes == [big, b"head" + big]
    await next_turn()
    assert len(real.writes) == 2


async def test_close_flushes_first_abort_drops_and_a_closed_transport_gets_nothing():
    real = FakeTransport()
    t = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    t.write(b"last words")
    t.close()
    assert real.writes == [b"last words"] and real.closed
    await next_turn()
    assert real.writes == [b"last words"]

    real = FakeTransport()
    t = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    t.write(b"dropped")
    t.abort()
    await next_turn()
    assert real.writes == [] and real.aborted

    real = FakeTransport()
    t = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    t.write(b"too late")
    real.closed = True  # the peer went away in between
    await next_turn()
    assert real.writes == []

    real = FakeTransport()
    t = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    t.write(b"end")
    t.write_eof()
    assert real.writes == [b"end", b"<eof>"]
    assert t.get_extra_info("peername") == ("127.0.0.1", 5000)  # everything else is the real one's


def serve(protocol_class: type[HttpToolsProtocol], app: Any) -> tuple[HttpToolsProtocol, FakeTransport]:
    config = Config(app=app, log_config=None, access_log=False, server_header=False, date_header=False)
    config.load()
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})  # type: ignore[arg-type]
    transport = FakeTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    return protocol, transport


async def small_answer(scope: Any, receive: Any, send: Any) -> None:
    body = b'{"ok":true}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def drive(protocol_class: type[HttpToolsProtocol], app: Any, request: bytes) -> FakeTransport:
    protocol, transport = serve(protocol_class, app)
    protocol.data_received(request)
    for _ in range(10):
        await next_turn()
    if protocol.timeout_keep_alive_task is not None:
        protocol.timeout_keep_alive_task.cancel()
    return transport


async def test_an_answer_is_one_write_with_uvicorns_bytes():
    request = b"GET /x HTTP/1.1\r\nHost: gw\r\n\r\n"
    ours = await drive(OneWriteHttpProtocol, small_answer, request)
    theirs = await drive(HttpToolsProtocol, small_answer, request)
    assert len(theirs.writes) == 2 and len(ours.writes) == 1
    assert ours.writes[0] == b"".join(theirs.writes)
    assert ours.writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and ours.writes[0].endswith(b'{"ok":true}')


async def test_keep_alive_pipelining_and_connection_close_are_uvicorns():
    two = b"GET /a HTTP/1.1\r\nHost: gw\r\n\r\nGET /b HTTP/1.1\r\nHost: gw\r\n\r\n"
    ours = await drive(OneWriteHttpProtocol, small_answer, two)
    theirs = await drive(HttpToolsProtocol, small_answer, two)
    assert b"".join(ours.writes) == b"".join(theirs.writes) and len(ours.writes) == 2
    assert not ours.closed
    close = b"GET /a HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n"
    ours = await drive(OneWriteHttpProtocol, small_answer, close)
    assert ours.closed and b"connection: close" in ours.writes[0] and len(ours.writes) == 1


async def test_a_streamed_answer_sends_its_head_without_waiting_for_the_body():
    release = asyncio.Event()

    async def streaming(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await release.wait()  # the provider has not sent the first chunk yet
        await send({"type": "http.response.body", "body": b"chunk", "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    protocol, transport = serve(OneWriteHttpProtocol, streaming)
    protocol.data_received(b"GET /s HTTP/1.1\r\nHost: gw\r\n\r\n")
    for _ in range(10):
        await next_turn()
    assert len(transport.writes) == 1 and transport.writes[0].endswith(b"transfer-encoding: chunked\r\n\r\n")
    release.set()
    for _ in range(10):
        await next_turn()
    assert b"".join(transport.writes[1:]) == b"5\r\nchunk\r\n0\r\n\r\n"
    if protocol.timeout_keep_alive_task is not None:
        protocol.timeout_keep_alive_task.cancel()


async def test_an_invalid_request_still_gets_its_400():
    ours = await drive(OneWriteHttpProtocol, small_answer, b"NOT HTTP\r\n\r\n")
    assert ours.writes and ours.writes[0].startswith(b"HTTP/1.1 400") and ours.closed


HEADS = [
    [(b"content-type", b"application/json"), (b"content-length", b"11")],
    [(b"Content-Length", b"11"), (b"X-RateLimit-Remaining", b"4999"), (b"x-v", b"a\tb")],
    [(b"connection", b"keep-alive, Close"), (b"content-length", b"11")],
    [(b"transfer-encoding", b"chunked")],
    [],
]


def answer_with(status: int, headers: list[tuple[bytes, bytes]]) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        chunked = not any(n.lower() == b"content-length" for n, _ in headers)
        body = b"" if scope["method"] == "HEAD" or status in (204, 304) else b'{"ok":true}'
        if chunked and body:
            await send({"type": "http.response.body", "body": body, "more_body": True})
            body = b""
        await send({"type": "http.response.body", "body": body})

    return app


@pytest.mark.parametrize("headers", HEADS)
@pytest.mark.parametrize(
    "status, request_line", [(200, b"GET /x HTTP/1.1"), (200, b"HEAD /x HTTP/1.1"), (204, b"GET /x HTTP/1.1")]
)
async def test_heads_are_byte_for_byte_uvicorns(headers, status, request_line):
    if status == 204 or b"HEAD" in request_line:
        headers = [h for h in headers if h[0].lower() != b"transfer-encoding"]
    for extra in (b"", b"Connection: close\r\n"):
        request = request_line + b"\r\nHost: gw\r\n" + extra + b"\r\n"
        ours = await drive(OneWriteHttpProtocol, answer_with(status, headers), request)
        theirs = await drive(HttpToolsProtocol, answer_with(status, headers), request)
        assert b"".join(ours.writes) == b"".join(theirs.writes)
        assert ours.closed == theirs.closed


@pytest.mark.parametrize(
    "bad",
    [(b"x bad", b"1"), (b"x:y", b"1"), (b"x-ok", b"a\r\nx-evil: 1"), (b"x-ok", b"a\nb"), (b"x-ok", b"\0")],
)
async def test_a_bad_header_is_refused_as_uvicorn_refuses_it(bad):
    ours = await drive(OneWriteHttpProtocol, answer_with(200, [bad]), b"GET / HTTP/1.1\r\nHost: gw\r\n\r\n")
    theirs = await drive(HttpToolsProtocol, answer_with(200, [bad]), b"GET / HTTP/1.1\r\nHost: gw\r\n\r\n")
    # uvicorn raises in send() and closes the connection: nothing of the bad head goes out.
    assert ours.writes == theirs.writes == [] and ours.closed and theirs.closed
