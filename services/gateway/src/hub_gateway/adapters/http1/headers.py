"""Request header lines encoded and checked once (no request smuggling)."""

from __future__ import annotations

from collections.abc import Sequence

from hub_gateway.adapters.http1.errors import UnsendableHeader


class HeaderBlock:
    """Request header lines encoded once and checked once (no CR, LF or NUL: no request
    smuggling), for headers that are the same on many requests (a connection's credential and
    default headers)."""

    __slots__ = ("data",)

    def __init__(self, headers: Sequence[tuple[str, str]]) -> None:
        text = "".join([f"{name}: {value}\r\n" for name, value in headers])
        if text.count("\n") != len(headers) or text.count("\r") != len(headers) or "\0" in text:
            raise UnsendableHeader("a header carries a line break or NUL; refused")
        self.data = latin1(text)


def latin1(text: str) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise UnsendableHeader("a header value has a character outside ISO-8859-1; refused") from None
