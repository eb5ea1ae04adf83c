"""An injected query key echoed in an answer's body (a pagination ``next`` URL, an error that
quotes the request) is masked before the caller sees it.

Only text bodies are searched (text/*, JSON, XML, forms, JavaScript, or no declared type), and
only uncompressed ones (the gateway asks a query-key connection's provider for an uncompressed
answer; a provider that compresses anyway is passed on as it is). Each echo becomes ``*`` of the
same length, so a declared ``Content-Length`` stays true and a streamed answer is masked chunk by
chunk: the only bytes held back are a chunk's tail that could be the start of a key (at most a
key's length), never the stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

MASK = b"*"
_TEXT_TYPES = frozenset(
    {b"application/x-www-form-urlencoded", b"application/javascript", b"application/ecmascript"}
)


def scrubbable(content_type: bytes | None, content_encoding: bytes | None) -> bool:
    """Whether an answer's body is text the gateway may search (and is not compressed)."""
    if content_encoding is not None and content_encoding.strip().lower() not in (b"", b"identity"):
        return False
    if content_type is None:
        return True  # undeclared: often JSON from a terse API; searching costs little
    media = content_type.split(b";", 1)[0].strip().lower()
    return (
        media.startswith(b"text/")
        or media.endswith((b"json", b"xml"))  # application/json, +json, ndjson, +xml
        or media in _TEXT_TYPES
    )


def mask(data: bytes, secrets: tuple[bytes, ...]) -> bytes:
    """Every occurrence of each secret (longest first) replaced by ``*`` of the same length."""
    for secret in secrets:
        if secret in data:
            data = data.replace(secret, MASK * len(secret))
    return data


def partial_tail(data: bytes, secrets: tuple[bytes, ...]) -> int:
    """How many bytes at the end of ``data`` could begin a secret that the next chunk completes."""
    hold = 0
    size = len(data)
    for secret in secrets:
        first = secret[:1]
        i = data.find(first, max(0, size - len(secret) + 1))
        while i != -1:
            if secret.startswith(data[i:]):
                hold = max(hold, size - i)
                break
            i = data.find(first, i + 1)
    return hold


async def masked_stream(stream: AsyncIterator[bytes], secrets: tuple[bytes, ...]) -> AsyncIterator[bytes]:
    carry = b""
    try:
        async for chunk in stream:
            data = mask(carry + chunk, secrets)
            hold = partial_tail(data, secrets)
            carry = data[len(data) - hold :] if hold else b""
            out = data[: len(data) - hold] if hold else data
            if out:
                yield out
        if carry:
            yield carry
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
