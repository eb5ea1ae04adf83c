"""Action parameters and outputs of the Notion connector (their JSON Schemas are the manifest's).

Outputs are normalised: a page is its id, URL, title, parent and properties as plain values
(text as strings, a select as its name), so automations do not parse Notion's property objects.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub_connector_notion.content import page_title, plain_text, property_value

# Notion ids: UUIDs, with or without dashes (what a page URL ends with). One path segment.
NOTION_ID = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
MAX_CONTENT = 200_000  # characters of text or Markdown one action turns into blocks


def dashed(value: str) -> str:
    """A Notion id in its canonical dashed form (what the API answers with)."""
    raw = value.replace("-", "").lower()
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Content(_Params):
    content: str | None = Field(default=None, max_length=MAX_CONTENT, description="the page body")
    content_format: Literal["plain", "markdown"] = Field(
        default="markdown", description="how ``content`` (and comment text) is written"
    )


class CreatePage(_Content):
    parent_page_id: str | None = Field(default=None, pattern=NOTION_ID, description="a page")
    database_id: str | None = Field(
        default=None, pattern=NOTION_ID, description="a database: the page becomes a row"
    )
    title: str = Field(min_length=1, max_length=2000)
    properties: dict[str, Any] = Field(
        default_factory=dict,
        description="further property values in Notion's own form (database rows), by name or id",
    )
    icon_emoji: str | None = Field(default=None, max_length=16)

    @model_validator(mode="after")
    def _one_parent(self) -> CreatePage:
        if (self.parent_page_id is None) == (self.database_id is None):
            raise ValueError("give exactly one of parent_page_id and database_id")
        return self


class UpdatePage(_Params):
    page_id: str = Field(pattern=NOTION_ID)
    title: str | None = Field(default=None, min_length=1, max_length=2000)
    properties: dict[str, Any] | None = Field(
        default=None, description="property values to change, in Notion's own form"
    )
    in_trash: bool | None = Field(default=None, description="true moves the page to the trash")
    icon_emoji: str | None = Field(default=None, max_length=16)


class AppendBlocks(_Params):
    block_id: str = Field(pattern=NOTION_ID, description="a page or a block that takes children")
    content: str = Field(min_length=1, max_length=MAX_CONTENT)
    content_format: Literal["plain", "markdown"] = "markdown"
    after: str | None = Field(default=None, pattern=NOTION_ID, description="insert after this child block")


class QueryDatabase(_Params):
    data_source_id: str | None = Field(
        default=None, pattern=NOTION_ID, description="the data source to query"
    )
    database_id: str | None = Field(
        default=None,
        pattern=NOTION_ID,
        description="a database: its first data source is queried (single-source databases)",
    )
    filter: dict[str, Any] | None = Field(default=None, description="Notion filter object")
    sorts: list[dict[str, Any]] = Field(default_factory=list, max_length=10)
    max_items: int = Field(default=100, ge=1, le=1000)
    page_size: int = Field(default=100, ge=1, le=100, description="page size asked of Notion")

    @model_validator(mode="after")
    def _one_source(self) -> QueryDatabase:
        if (self.data_source_id is None) == (self.database_id is None):
            raise ValueError("give exactly one of data_source_id and database_id")
        return self


class Search(_Params):
    query: str = Field(default="", max_length=1000, description="matched against titles")
    object: Literal["page", "data_source"] | None = Field(default=None, description="only this kind")
    sort: Literal["ascending", "descending"] = Field(default="descending", description="by last edit")
    max_items: int = Field(default=100, ge=1, le=1000)
    page_size: int = Field(default=100, ge=1, le=100)


class AddComment(_Params):
    page_id: str = Field(pattern=NOTION_ID)
    text: str = Field(min_length=1, max_length=MAX_CONTENT)
    content_format: Literal["plain", "markdown"] = "plain"


# -- outputs -----------------------------------------------------------------------------------------
class Parent(BaseModel):
    type: str
    id: str | None


def parent_of(item: dict[str, Any]) -> Parent:
    parent = item.get("parent") or {}
    kind = str(parent.get("type") or "unknown")
    value = parent.get(kind)
    return Parent(type=kind, id=value if isinstance(value, str) else None)


class Page(BaseModel):
    id: str
    url: str | None
    title: str
    parent: Parent
    in_trash: bool
    created_time: str | None
    last_edited_time: str | None
    properties: dict[str, Any] = Field(description="property name → plain value")

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Page:
        props = item.get("properties") or {}
        return cls(
            id=item["id"],
            url=item.get("url"),
            title=page_title(item),
            parent=parent_of(item),
            in_trash=bool(item.get("in_trash", item.get("archived", False))),
            created_time=item.get("created_time"),
            last_edited_time=item.get("last_edited_time"),
            properties={k: property_value(v) for k, v in props.items() if isinstance(v, dict)},
        )


class PageList(BaseModel):
    pages: list[Page]
    truncated: bool = Field(description="more exist than max_items")


class SearchResult(BaseModel):
    object: str
    id: str
    title: str
    url: str | None
    parent: Parent
    last_edited_time: str | None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> SearchResult:
        title = page_title(item) if item.get("object") == "page" else plain_text(item.get("title"))
        return cls(
            object=str(item.get("object")),
            id=item["id"],
            title=title,
            url=item.get("url"),
            parent=parent_of(item),
            last_edited_time=item.get("last_edited_time"),
        )


class SearchResults(BaseModel):
    results: list[SearchResult]
    truncated: bool


class AppendedBlocks(BaseModel):
    block_id: str
    block_ids: list[str] = Field(description="the new blocks, in order")


class Comment(BaseModel):
    id: str
    discussion_id: str | None
    parent: Parent
    text: str
    created_time: str | None
    author_id: str | None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Comment:
        return cls(
            id=item["id"],
            discussion_id=item.get("discussion_id"),
            parent=parent_of(item),
            text=plain_text(item.get("rich_text")),
            created_time=item.get("created_time"),
            author_id=(item.get("created_by") or {}).get("id"),
        )
