"""The Notion connector (built in): ``NotionConnector`` (public integration, OAuth) and
``NotionTokenConnector`` (internal integration token). See docs/connectors/notion.md."""

from hub_connector_notion.connector import NOTION_VERSION, NotionConnector, NotionTokenConnector

__all__ = ["NOTION_VERSION", "NotionConnector", "NotionTokenConnector"]
