"""Refuse oversized request bodies before anything parses them (413 ``payload_too_large``).

A declared Content-Length over the limit is refused before the app sees anything; a chunked
body is counted as it arrives and cut off at the limit. Either way what the client still sends is
read and dropped (up to ``DRAIN_LIMIT_BYTES``) before the 413, so it gets the answer, not a
connection reset. The limit may depend on the path (the vault's
HMAC routes carry whole webhook payloads).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub_common.web.errors import error_response

_NO_BODY = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
# A refused body is read and dropped up to this much before the 413 goes out: a server closes a
# connection whose request body is left unread, and a client still sending would see a reset
# instead of the answer. Past it, the connection closes.
DRAIN_LIMIT_BYTES = 4 * 1024 * 1024


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read ``body`` over first, then the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, *, max_bytes: int, limit_for: Callable[[str], int] | None = None
    ) -> None:
        """``limit_for(path)`` gives a path's limit; without it every path has ``max_bytes``."""
        self.app = app
        self.max_bytes = max_bytes
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _NO_BODY:
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"]) if self.limit_for else self.max_bytes
        declared: int | None = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
                break
        if declared is not None:
            if declared > limit:
                await _refuse(limit, scope, receive, send, more=declared <= DRAIN_LIMIT_BYTES)
                return
            await self.app(scope, receive, send)  # the server enforces the declared length
            return
        # No length declared (chunked): read up to the limit, then replay to the app.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            size += len(message.get("body", b""))
            if size > limit:
                await _refuse(limit, scope, receive, send, more=message.get("more_body", False))
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        await self.app(scope, replaying(b"".join(chunks), receive), send)


async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send, *, more: bool = True) -> None:
    dropped = 0
    while more and dropped <= DRAIN_LIMIT_BYTES:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        dropped += len(message.get("body", b""))
        more = message.get("more_body", False)
    response = error_response(
        413, "payload_too_large", f"request bodies are limited to {limit} bytes", {"limit_bytes": limit}
    )
    await response(scope, receive, send)
