"""A query key echoed in an answer's body is masked, in whole bodies and across stream chunks."""

from __future__ import annotations

import pytest

from hub_gateway.domain.body_scrub import mask, masked_stream, partial_tail, scrubbable
from hub_gateway.domain.injection import Injection

pytestmark = pytest.mark.unit
KEY = "sk-live/0123456789+abc"
GUARD = Injection(query=("api_key", "x"), secrets=(KEY,)).echo_guard
BODY = (
    b'{"items": [1, 2], "next": "https://api.example.com/items?page=2&api_key=sk-live%2F0123456789%2Babc",'
    b' "raw": "sk-live/0123456789+abc", "lower": "sk-live%2f0123456789%2babc"}'
)


def test_every_echoed_form_is_masked_and_the_length_kept():
    masked = mask(BODY, GUARD)
    assert len(masked) == len(BODY)
    assert b"0123456789" not in masked
    assert b'"items": [1, 2]' in masked and b"page=2&api_key=*****" in masked


@pytest.mark.parametrize(
    ("content_type", "encoding", "expected"),
    [
        (b"application/json; charset=utf-8", None, True),
        (b"application/vnd.github+json", None, True),
        (b"application/x-ndjson", None, True),
        (b"text/html", b"identity", True),
        (b"application/atom+xml", None, True),
        (b"application/x-www-form-urlencoded", None, True),
        (None, None, True),
        (b"application/json", b"gzip", False),
        (b"image/png", None, False),
        (b"application/octet-stream", None, False),
    ],
)
def test_only_uncompressed_text_is_searched(content_type, encoding, expected):
    assert scrubbable(content_type, encoding) is expected


def test_a_partial_key_at_a_chunk_end_is_held_back_and_nothing_else():
    assert partial_tail(b'"next": "...&api_key=sk-li', GUARD) == len(b"sk-li")
    assert partial_tail(b'{"done": true}', GUARD) == 0
    assert partial_tail(b"sssss", (b"sk-1234",)) == 1  # only a tail that could still become it


async def chunks(parts):
    for part in parts:
        yield part


@pytest.mark.parametrize("size", [1, 2, 5, 7, 16, 1000])
async def test_a_streamed_answer_is_masked_whatever_its_chunking(size):
    parts = [BODY[i : i + size] for i in range(0, len(BODY), size)]
    out = [part async for part in masked_stream(chunks(parts), GUARD)]
    assert b"".join(out) == mask(BODY, GUARD)


async def test_a_stream_without_echoes_passes_chunk_for_chunk():
    parts = [b"data: one\n\n", b"data: two\n\n"]
    assert [part async for part in masked_stream(chunks(parts), GUARD)] == parts


async def test_a_prefix_that_never_completes_comes_out_at_the_end():
    parts = [b"abc sk-live/01", b"2 done"]
    assert b"".join([p async for p in masked_stream(chunks(parts), GUARD)]) == b"abc sk-live/012 done"
