"""Keyset pagination for lists ordered newest first by ``(created_at DESC, id DESC)``.

The cursor is the last row a page returned, opaque to callers (URL-safe base64). A keyset
position stays correct while rows are added or removed, which an offset does not.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from hub_common.errors import BadRequest


@dataclass(frozen=True)
class Cursor:
    """Keyset position: the last row seen, ordered by (created_at DESC, id DESC)."""

    created_at: datetime
    id: UUID

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            when, _, ident = raw.partition("|")
            return cls(as_utc(datetime.fromisoformat(when)), UUID(ident))
        except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
            raise BadRequest("cursor is not valid", code="invalid_cursor") from None

    @classmethod
    def decode_optional(cls, text: str | None) -> Cursor | None:
        return cls.decode(text) if text else None


def as_utc(when: datetime) -> datetime:
    """In UTC; a time without an offset is taken as UTC. Raises OverflowError (or ValueError)
    for times that do not exist in UTC (``0001-01-01T00:00:00+14:00``)."""
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


class Keyed(Protocol):
    @property
    def created_at(self) -> datetime: ...
    @property
    def id(self) -> UUID: ...


T = TypeVar("T", bound=Keyed)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a keyset list; ``next_cursor`` is None on the last page."""

    items: Sequence[T]
    next_cursor: str | None

    @classmethod
    def of(cls, items: Sequence[T], limit: int) -> Page[T]:
        """A full page may have a successor (one more query tells; an empty last page is cheap)."""
        last = items[-1] if len(items) == limit and items else None
        return cls(items, Cursor(last.created_at, last.id).encode() if last is not None else None)
