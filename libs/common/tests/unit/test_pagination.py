"""Keyset pages: the cursor is the last row of a full page and reads back as that position."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from hub_common.errors import BadRequest
from hub_common.pagination import Cursor, Page

pytestmark = pytest.mark.unit


@dataclass
class Row:
    created_at: datetime
    id: uuid.UUID


def rows(n: int) -> list[Row]:
    start = datetime(2026, 12, 8, tzinfo=UTC)
    return [Row(start - timedelta(seconds=i), uuid.uuid4()) for i in range(n)]


def test_a_full_page_points_past_its_last_row():
    page = Page.of(rows(3), limit=3)
    assert page.next_cursor is not None
    assert Cursor.decode(page.next_cursor) == Cursor(page.items[-1].created_at, page.items[-1].id)


def test_a_short_or_empty_page_is_the_last():
    assert Page.of(rows(2), limit=3).next_cursor is None
    assert Page.of([], limit=3).next_cursor is None


@pytest.mark.parametrize("text", ["%%", "bm90LWEtY3Vyc29y", "MjAyNi0xMy0wMXx4"])
def test_a_cursor_the_api_did_not_hand_out_is_a_400(text):
    with pytest.raises(BadRequest) as refused:
        Cursor.decode(text)
    assert refused.value.code == "invalid_cursor"
    assert Cursor.decode_optional(None) is None
