"""A content export of one connection: its state, and the document → event mapping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from hub_common.events import IntegrationContent
from hub_connector_sdk import ContentDocument

ExportMode = Literal["full", "incremental"]
ExportStatus = Literal["running", "completed", "failed", "cancelled"]


@dataclass(frozen=True)
class ContentExport:
    id: UUID
    tenant_id: str
    connection_id: UUID
    connector_id: str
    user_id: str
    mode: str
    status: str
    start_cursor: str | None
    cursor: str | None
    pages: int
    documents: int
    attempts: int
    error_code: str | None
    error_message: str | None
    lease_owner: str | None
    lease_until: datetime | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


def cut_text(text: str, max_bytes: int) -> tuple[str, bool]:
    """At most ``max_bytes`` of UTF-8 (never half a character), and whether it was cut."""
    raw = text.encode()
    if len(raw) <= max_bytes:
        return text, False
    return raw[:max_bytes].decode("utf-8", errors="ignore"), True


def content_event(
    export: ContentExport, document: ContentDocument, *, max_text_bytes: int
) -> IntegrationContent:
    text, truncated = cut_text(document.text, max_text_bytes)
    return IntegrationContent(
        tenant_id=export.tenant_id,
        connection_id=export.connection_id,
        connector_id=export.connector_id,
        export_id=export.id,
        id=document.id,
        title=document.title,
        text=text,
        text_truncated=truncated,
        url=document.url,
        author=document.author,
        updated_at=document.updated_at,
        metadata=document.metadata,
    )
