"""The connections to one origin: at most ``max_connections`` open, idle ones reused LIFO."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from typing import TYPE_CHECKING

from hub_gateway.adapters.http1.connection import Connection
from hub_gateway.adapters.http1.errors import ConnectError, ConnectTimeout, PoolBusy

if TYPE_CHECKING:
    from hub_gateway.adapters.http1.client import Http1Client


class OriginPool:
    def __init__(self, client: Http1Client, scheme: str, host: str, port: int) -> None:
        self.client = client
        self.scheme, self.host, self.port = scheme, host, port
        name = f"[{host}]" if ":" in host else host  # IPv6 literals are bracketed
        self.host_header = name if port == (443 if scheme == "https" else 80) else f"{name}:{port}"
        self.idle: list[Connection] = []
        self.slots = asyncio.Semaphore(client.max_connections)
        self.open = 0

    async def acquire(self) -> Connection:
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

    async def _connect(self) -> Connection:
        loop = asyncio.get_running_loop()
        address = await self.client.resolve(self.host, self.port)
        ssl_ctx = self.client.ssl_context if self.scheme == "https" else None
        try:
            async with asyncio.timeout(self.client.connect_timeout_s):
                _, protocol = await loop.create_connection(
                    lambda: Connection(self),
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

    def release(self, conn: Connection, *, reuse: bool) -> None:
        if reuse and len(self.idle) < self.client.max_idle:
            conn.idle_since = time.monotonic()
            conn.in_pool = True
            self.idle.append(conn)
        else:
            conn.close()
        self.slots.release()

    def forget(self, conn: Connection) -> None:
        self.open -= 1
        with contextlib.suppress(ValueError):
            self.idle.remove(conn)
