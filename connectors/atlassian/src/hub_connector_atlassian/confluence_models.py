"""Action parameters, outputs and trigger payloads of the Confluence connectors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub_connector_atlassian.adf import adf_to_text
from hub_connector_atlassian.storage import storage_to_text

CONTENT_ID = r"^[0-9]{1,20}$"
SPACE_KEY = r"^[A-Za-z0-9_~-]{1,255}$"
_TEXT = "plain text or Markdown (converted to Atlassian Document Format)"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreatePage(_Params):
    space_id: str | None = Field(default=None, pattern=CONTENT_ID, description="the space's id")
    space_key: str | None = Field(default=None, pattern=SPACE_KEY, description="or the space's key")
    title: str = Field(min_length=1, max_length=255)
    body: str = Field(default="", max_length=1_000_000, description=_TEXT)
    parent_id: str | None = Field(default=None, pattern=CONTENT_ID, description="parent page")
    draft: bool = False

    @model_validator(mode="after")
    def _one_space(self) -> CreatePage:
        if (self.space_id is None) == (self.space_key is None):
            raise ValueError("give exactly one of space_id and space_key")
        return self


class UpdatePage(_Params):
    page_id: str = Field(pattern=CONTENT_ID)
    title: str | None = Field(default=None, min_length=1, max_length=255, description="default: unchanged")
    body: str = Field(max_length=1_000_000, description=_TEXT)
    version_message: str | None = Field(default=None, max_length=500)


class GetPage(_Params):
    page_id: str = Field(pattern=CONTENT_ID)


class ListSpaces(_Params):
    keys: list[str] = Field(default_factory=list, max_length=50, description="only these space keys")
    type: str | None = Field(default=None, pattern=r"^(global|personal)$")
    max_items: int = Field(default=100, ge=1, le=1000)
    page_size: int = Field(default=25, ge=1, le=250, description="page size asked of Confluence")


class AddComment(_Params):
    page_id: str = Field(pattern=CONTENT_ID)
    body: str = Field(min_length=1, max_length=100_000, description=_TEXT)


# -- outputs --------------------------------------------------------------------------------------------
def body_text(body: Any) -> str:
    """A v2 ``body`` (``storage`` or ``atlas_doc_format`` representation) as plain text."""
    if not isinstance(body, dict):
        return ""
    storage = body.get("storage")
    if isinstance(storage, dict) and storage.get("value"):
        return storage_to_text(str(storage["value"]))
    adf = body.get("atlas_doc_format")
    if isinstance(adf, dict) and adf.get("value"):
        import json

        try:
            return adf_to_text(json.loads(adf["value"]))
        except ValueError:
            return ""
    return ""


class Page(BaseModel):
    id: str
    title: str | None
    status: str | None
    space_id: str | None
    parent_id: str | None
    version: int | None
    author_id: str | None
    created_at: str | None
    updated_at: str | None = Field(description="when the current version was made")
    url: str | None = Field(description="the page's web UI path (relative to the site's /wiki)")
    text: str = Field(description="the body as plain text")

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Page:
        version = item.get("version") or {}
        return cls(
            id=str(item["id"]),
            title=item.get("title"),
            status=item.get("status"),
            space_id=item.get("spaceId"),
            parent_id=item.get("parentId"),
            version=version.get("number"),
            author_id=item.get("authorId"),
            created_at=item.get("createdAt"),
            updated_at=version.get("createdAt"),
            url=(item.get("_links") or {}).get("webui"),
            text=body_text(item.get("body")),
        )


class Space(BaseModel):
    id: str
    key: str | None
    name: str | None
    type: str | None
    status: str | None
    homepage_id: str | None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Space:
        return cls(
            id=str(item["id"]),
            key=item.get("key"),
            name=item.get("name"),
            type=item.get("type"),
            status=item.get("status"),
            homepage_id=item.get("homepageId"),
        )


class SpaceList(BaseModel):
    spaces: list[Space]
    truncated: bool = Field(description="more spaces exist than max_items")


class Comment(BaseModel):
    id: str
    page_id: str | None
    version: int | None
    text: str

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Comment:
        return cls(
            id=str(item["id"]),
            page_id=item.get("pageId"),
            version=(item.get("version") or {}).get("number"),
            text=body_text(item.get("body")),
        )


# -- trigger payloads (Confluence webhooks: {"event", "timestamp", "userAccountId", "page": {...}}) -------
class PageRef(BaseModel):
    id: str
    title: str | None
    space_key: str | None
    version: int | None
    url: str | None
    creator_account_id: str | None
    last_modifier_account_id: str | None
    created_at: datetime | None
    modified_at: datetime | None


class PageEvent(BaseModel):
    event: str
    page: PageRef
    user_account_id: str | None


def _ms(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    return None


def page_event(event: str, payload: dict[str, Any]) -> PageEvent:
    page = payload.get("page") or {}
    version = page.get("version")
    return PageEvent(
        event=event,
        page=PageRef(
            id=str(page["id"]),
            title=page.get("title"),
            space_key=page.get("spaceKey"),
            version=version if isinstance(version, int) else (version or {}).get("number"),
            url=page.get("self"),
            creator_account_id=page.get("creatorAccountId"),
            last_modifier_account_id=page.get("lastModifierAccountId"),
            created_at=_ms(page.get("creationDate")),
            modified_at=_ms(page.get("modificationDate")),
        ),
        user_account_id=payload.get("userAccountId"),
    )
