"""NUL characters refused at the edge.

Postgres cannot store U+0000 in text, so a NUL that reached a query became a 500; no name, id,
URL or setting of the hub needs one. A JSON body can carry it only as the escape ``\\u0000``
(a raw 0x00 byte is not valid JSON and fails parsing anyway), so the body is scanned as it
streams in, chunk by chunk, without buffering it again.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope

_ESCAPE = b"\\u0000"


class NulInBody(HTTPException):
    """Raised from ``receive``; an ``HTTPException`` so that frameworks reading the body pass it on."""

    def __init__(self) -> None:
        super().__init__(422, "the JSON body contains a NUL character (\\u0000)")


def has_nul_in_target(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    if b"\x00" in query or b"%00" in query:
        return True
    raw: bytes | None = scope.get("raw_path")
    if raw is not None and (b"\x00" in raw or b"%00" in raw):
        return True
    return "\x00" in scope.get("path", "")


def escapes_nul(data: bytes) -> bool:
    """Whether ``data`` holds ``\\u0000`` as an escape, not as an escaped backslash followed by
    the text ``u0000`` (``\\\\u0000``): the backslashes before it must be odd in number."""
    start = data.find(_ESCAPE)
    while start != -1:
        backslashes = 1
        i = start - 1
        while i >= 0 and data[i] == 0x5C:
            backslashes += 1
            i -= 1
        if backslashes % 2 == 1:
            return True
        start = data.find(_ESCAPE, start + 1)
    return False


class NulScanner:
    """A ``receive`` that raises :class:`NulInBody` when the body escapes a NUL."""

    # Enough of the previous chunk to see an escape split across chunks, with the run of
    # backslashes before it (a longer run than this is cut, and counted from its cut start).
    _TAIL = 64

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._tail = b""

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            chunk: bytes = message.get("body", b"")
            if chunk:
                window = self._tail + chunk
                if b"u0000" in window and escapes_nul(window):
                    raise NulInBody
                self._tail = window[-self._TAIL :]
        return message
