"""The upstream HTTP/1.1 client against raw local sockets (answers written byte by byte, so the
unusual framings — chunked, close-delimited, 1xx, HEAD — are exactly what a provider could send)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from hub_common.testing import eventually
from hub_gateway.adapters.http1 import (
    BodyLengthMismatch,
    ConnectError,
    Disconnected,
    HeadersTooLarge,
    Http1Client,
    PoolBusy,
    ProtocolError,
    ReadTimeout,
    UnsendableHeader,
)
from hub_gateway.adapters.http1.connection import HIGH_WATER, MAX_HEAD_BYTES, MAX_HEADERS, Connection

pytestmark = pytest.mark.unit
Handler = Callable[[bytes], list[bytes] | None]


class RawServer:
    """Answers each request with the byte strings a handler returns (None: close at once)."""

    def __init__(self, handler: Handler, *, close_after: bool = False, delay_s: float = 0.0) -> None:
        self.handler = handler
        self.close_after = close_after
        self.delay_s = delay_s
        self.requests: list[bytes] = []
        self.connections = 0

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                body = b""
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        body = await reader.readexactly(int(line.split(b":")[1]))
                    if line.lower() == b"transfer-encoding: chunked":
                        while True:
                            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                            chunk = await reader.readexactly(size + 2)
                            body += chunk[:-2]
                            if size == 0:
                                break
                self.requests.append(head + body)
                answer = self.handler(head + body)
                if answer is None:
                    break
                for part in answer:
                    if self.delay_s:
                        await asyncio.sleep(self.delay_s)
                    writer.write(part)
                    await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def ok(body: bytes = b"hello", extra: bytes = b"") -> Handler:
    return lambda _: [b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%b\r\n%b" % (len(body), extra, body)]


@pytest.fixture
async def client() -> AsyncIterator[Http1Client]:
    c = Http1Client(allowlist=["127.0.0.1"], connect_timeout_s=1, read_timeout_s=0.5)
    yield c
    await c.close()


async def test_keep_alive_reuse_and_exact_request_bytes(client):
    async with RawServer(ok()) as srv:
        for _ in range(3):
            resp = await client.request("GET", srv.url + "/a%2Fb?x=1", [("x-one", "1")])
            assert resp.status == 200 and await resp.read() == b"hello"
        assert srv.connections == 1
        assert srv.requests[0].startswith(
            b"GET /a%2Fb?x=1 HTTP/1.1\r\nhost: 127.0.0.1:" + str(srv.port).encode() + b"\r\nx-one: 1\r\n"
        )


async def test_chunked_answer_split_across_packets(client):
    parts = [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"5\r\nhel",
        b"lo\r\n6\r\n world\r\n",
        b"0\r\n\r\n",
    ]
    async with RawServer(lambda _: parts) as srv:
        resp = await client.request("GET", srv.url + "/", [])
        assert resp.content_length is None
        assert b"".join([c async for c in resp.iter_chunks()]) == b"hello world"
        again = await client.request("GET", srv.url + "/", [])
        assert await again.read() == b"hello world" and srv.connections == 1


async def test_close_delimited_body_and_no_reuse(client):
    async with RawServer(
        lambda _: [b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end"], close_after=True
    ) as srv:
        resp = await client.request("GET", srv.url + "/", [])
        assert await resp.read() == b"until the end"
        await (await client.request("GET", srv.url + "/", [])).read()
        assert srv.connections == 2


async def test_interim_1xx_is_skipped_head_and_204_have_no_body(client):
    async with RawServer(
        lambda req: [b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"]
    ) as srv:
        resp = await client.request("POST", srv.url + "/", [], b"{}")
        assert resp.status == 201 and resp.content_length == 2 and await resp.read() == b"ok"
    async with RawServer(lambda _: [b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"]) as srv:
        resp = await client.request("HEAD", srv.url + "/", [])
        assert resp.content_length == 0 and await resp.read() == b""
    async with RawServer(lambda _: [b"HTTP/1.1 204 No Content\r\n\r\n"]) as srv:
        resp = await client.request("DELETE", srv.url + "/", [])
        assert resp.status == 204 and await resp.read() == b""


async def test_a_streamed_body_must_match_its_declared_length(client):
    async def gen() -> AsyncIterator[bytes]:
        yield b"abcd"

    async with RawServer(ok()) as srv:
        for declared in (3, 5):  # longer, shorter
            with pytest.raises(BodyLengthMismatch):
                await client.request("POST", srv.url + "/", [], gen(), body_length=declared)
        resp = await client.request("POST", srv.url + "/", [], gen(), body_length=4)
        assert resp.status == 200 and await resp.read() == b"hello"
        # The extra byte never went out, and no mismatched connection was reused.
        assert all(not r.endswith(b"abcd") or b"content-length: 4" in r for r in srv.requests)
        assert srv.connections == 3


async def test_streamed_request_bodies_chunked_or_sized(client):
    async def gen() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b""
        yield b"cd"

    async with RawServer(ok()) as srv:
        await (await client.request("POST", srv.url + "/", [], gen())).read()
        await (await client.request("PUT", srv.url + "/", [], gen(), body_length=4)).read()
        assert b"transfer-encoding: chunked" in srv.requests[0] and srv.requests[0].endswith(b"abcd")
        assert b"content-length: 4" in srv.requests[1] and srv.requests[1].endswith(b"abcd")


async def test_failures_are_typed(client):
    async with RawServer(lambda _: None) as srv:  # accepts, reads, closes
        with pytest.raises(Disconnected) as err:
            await client.request("GET", srv.url + "/", [])
        assert err.value.response_started is False
    async with RawServer(lambda _: [b"NOT HTTP AT ALL\r\n\r\n"]) as srv:
        with pytest.raises(ProtocolError):
            await client.request("GET", srv.url + "/", [])
    async with RawServer(ok(), delay_s=1.0) as srv:
        with pytest.raises(ReadTimeout):
            await client.request("GET", srv.url + "/", [])
    async with RawServer(
        lambda _: [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12", b"34"], delay_s=0.3
    ) as srv:
        resp = await client.request("GET", srv.url + "/", [])
        with pytest.raises(ReadTimeout):
            await resp.read()
    with pytest.raises(ConnectError):
        await client.request("GET", "http://127.0.0.1:9/", [])


async def test_an_answer_head_beyond_the_bounds_is_refused_and_its_connection_closed(client):
    many = b"".join(b"x-h%d: v\r\n" % i for i in range(MAX_HEADERS + 1))
    async with RawServer(ok(extra=many)) as srv:
        for _ in range(2):
            with pytest.raises(HeadersTooLarge):
                await client.request("GET", srv.url + "/", [])
        assert srv.connections == 2  # the refused connection was not reused
    # One endless header, arriving over many reads (how a head grows past any one read).
    piece = b"a" * 8192

    def endless(_: bytes) -> list[bytes]:
        return [b"HTTP/1.1 200 OK\r\nx-big: ", *([piece] * (MAX_HEAD_BYTES // len(piece) + 2)), b"\r\n\r\n"]

    async with RawServer(endless, delay_s=0.005) as srv:
        with pytest.raises(HeadersTooLarge):
            await client.request("GET", srv.url + "/", [])
    # Just inside both bounds is an ordinary answer.
    fitting = b"".join(b"x-h%d: %b\r\n" % (i, b"v" * 200) for i in range(MAX_HEADERS - 2))
    async with RawServer(ok(extra=fitting)) as srv:
        resp = await client.request("GET", srv.url + "/", [])
        assert resp.status == 200 and await resp.read() == b"hello"


@pytest.mark.parametrize(
    "header",
    [
        ("x-a", "1\r\nx-injected: 2"),
        ("x-a", "lone\nfeed"),
        ("x-a", "lone\rreturn"),
        ("x-a", "n\0ul"),
        ("x-\r\nb", "1"),
        ("x-a", "sk-live\u2019abc"),  # a pasted curly quote: outside ISO-8859-1
    ],
)
async def test_header_injection_is_refused_before_sending(client, header):
    async with RawServer(ok()) as srv:
        with pytest.raises(UnsendableHeader):
            await client.request("GET", srv.url + "/", [("x-ok", "1"), header])
        with pytest.raises(UnsendableHeader):
            await client.request_at("GET", srv.url + "/base", "/x", [header])
        assert srv.requests == []


async def test_request_at_goes_under_the_base_path_and_shares_the_pool(client):
    async with RawServer(ok()) as srv:
        for base in (srv.url + "/api/v4", srv.url + "/api/v4/"):
            resp = await client.request_at("GET", base, "/users?page=2", [("x-one", "1")])
            assert await resp.read() == b"hello"
        resp = await client.request("GET", srv.url + "/plain", [])
        await resp.read()
        assert [r.split(b"\r\n", 1)[0] for r in srv.requests] == [
            b"GET /api/v4/users?page=2 HTTP/1.1",
            b"GET /api/v4/users?page=2 HTTP/1.1",
            b"GET /plain HTTP/1.1",
        ]
        assert srv.connections == 1


async def test_dns_answers_are_ssrf_checked():
    c = Http1Client(allowlist=[], connect_timeout_s=1, read_timeout_s=1)
    with pytest.raises(ConnectError, match="non-public"):
        await c.request("GET", "http://localhost:9/", [])
    await c.close()


async def test_big_bodies_stream_with_backpressure(client):
    body = b"x" * (3 * 1024 * 1024)
    async with RawServer(ok(body)) as srv:
        resp = await client.request("GET", srv.url + "/", [])
        total = 0
        async for chunk in resp.iter_chunks():
            total += len(chunk)
            await asyncio.sleep(0)
        assert total == len(body)


def _self_signed(tmp_path) -> tuple[str, str]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]),
            False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


async def test_tls_with_an_operator_ca_file_and_refusal_without(tmp_path):
    import ssl

    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    try:
        trusting = Http1Client(allowlist=["127.0.0.1"], connect_timeout_s=2, read_timeout_s=2, ca_file=cert)
        resp = await trusting.request("GET", f"https://127.0.0.1:{port}/", [])
        assert await resp.read() == b"secure"
        await trusting.close()
        strict = Http1Client(allowlist=["127.0.0.1"], connect_timeout_s=2, read_timeout_s=2)
        with pytest.raises(ConnectError):
            await strict.request("GET", f"https://127.0.0.1:{port}/", [])
        await strict.close()
    finally:
        server.close()


async def test_a_full_pool_makes_callers_wait_then_time_out():
    c = Http1Client(allowlist=["127.0.0.1"], connect_timeout_s=0.3, read_timeout_s=2, max_connections=1)
    async with RawServer(ok(), delay_s=0.2) as srv:
        first = await c.request("GET", srv.url + "/", [])  # holds the only connection until read
        with pytest.raises(PoolBusy, match="stayed busy"):  # local congestion: its own error
            await c.request("GET", srv.url + "/", [])
        assert await first.read() == b"hello"
        second = await c.request("GET", srv.url + "/", [])  # the connection came back
        assert await second.read() == b"hello"
    await c.close()


class _Transport:
    """Records flow control calls (a unit-level stand-in for the socket's transport)."""

    def __init__(self) -> None:
        self.paused = False
        self.written: list[bytes] = []

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass


async def test_an_answer_that_ends_in_the_chunk_that_paused_reading_leaves_it_resumed():

    class Pool:
        def forget(self, conn: object) -> None:
            pass

    conn = Connection(Pool())  # type: ignore[arg-type]
    transport = _Transport()
    conn.connection_made(transport)  # type: ignore[arg-type]
    body = b"x" * (HIGH_WATER + 10)
    # One packet crosses the high-water mark AND completes the answer.
    conn.data_received(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%b" % (len(body), body))
    assert conn.complete and transport.paused
    assert conn.take() == body
    assert not transport.paused  # else the pooled connection would never read its next answer
    conn.data_received(b"HTTP/1.1 204 No Content\r\n\r\n")  # the next exchange still parses
    conn._reset()
    assert not transport.paused


@pytest.mark.parametrize("length", [4 * 1024 * 1024, None])  # declared, and chunked
async def test_an_answer_before_the_body_is_sent_is_the_answer(client, length):
    """A provider that refuses an upload early (413 with Connection: close, as Go servers do for
    unread bodies) has answered: the caller gets that, not a broken connection."""
    connections = 0

    async def refuse_early(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 7\r\nconnection: close\r\n\r\ntoo big"
        )
        await writer.drain()
        writer.close()

    async def upload() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b"x" * 65536
            await asyncio.sleep(0.005)

    server = await asyncio.start_server(refuse_early, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        resp = await client.request(
            "POST", f"http://127.0.0.1:{port}/upload", [("x-ok", "1")], upload(), body_length=length
        )
        assert resp.status == 413 and await resp.read() == b"too big"
        # The half-sent request's connection is never reused: the next call opens another.
        again = await client.request("POST", f"http://127.0.0.1:{port}/upload", [], b"small")
        assert again.status == 413
        await again.read()
        assert connections == 2
    finally:
        server.close()


async def _serve_raw(handler):
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def test_a_second_answer_in_one_packet_is_refused_and_the_connection_dropped(client):
    async def two_answers(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
            b"HTTP/1.1 302 Found\r\nlocation: https://evil\r\ncontent-length: 4\r\n\r\nEVIL"
        )
        await writer.drain()

    server, url = await _serve_raw(two_answers)
    try:
        resp = await client.request("GET", url + "/", [])
        assert resp.status == 200 and (b"location", b"https://evil") not in resp.raw_headers
        assert await resp.read() == b"ok"
        assert client.stats()[url.replace("http://", "http://")]["idle"] == 0  # never reused
    finally:
        server.close()


async def test_bytes_on_an_idle_connection_never_reach_the_next_caller(client):
    connections = 0

    async def then_garbage(reader, writer):
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\none")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nEVIL")  # nobody asked
        await writer.drain()
        with contextlib.suppress(Exception):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\ntwo")
            await writer.drain()

    server, url = await _serve_raw(then_garbage)
    try:
        assert await (await client.request("GET", url + "/", [])).read() == b"one"
        # The unasked answer arrives while the connection is idle: the pool closes it.
        idle = [c for pool in client._pools.values() for c in pool.idle]
        assert len(idle) == 1
        await eventually(lambda: idle[0].closed, what="the idle connection closed on unasked bytes")
        assert await (await client.request("GET", url + "/", [])).read() == b"one"  # a new connection
        assert connections == 2
    finally:
        server.close()


async def test_trailers_are_not_merged_into_the_head_and_a_closing_204_is_not_reused(client):
    async def answers(reader, writer):
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if head.startswith(b"GET /trailer"):
                    writer.write(
                        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n"
                        b"trailer: x-ratelimit-remaining\r\n\r\n"
                        b"2\r\nok\r\n0\r\nx-ratelimit-remaining: 0\r\n\r\n"
                    )
                else:
                    writer.write(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                await writer.drain()

    server, url = await _serve_raw(answers)
    try:
        resp = await client.request("GET", url + "/trailer", [])
        assert await resp.read() == b"ok"
        assert all(name.lower() != b"x-ratelimit-remaining" for name, _ in resp.raw_headers)
        empty = await client.request("GET", url + "/empty", [])
        assert empty.status == 204
        await empty.read()
        assert all(pool["idle"] == 0 for pool in client.stats().values())
    finally:
        server.close()


async def test_a_101_is_a_protocol_error(client):
    async def upgrade(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n")
        await writer.drain()

    server, url = await _serve_raw(upgrade)
    try:
        with pytest.raises(ProtocolError):
            await client.request("GET", url + "/", [])
    finally:
        server.close()
