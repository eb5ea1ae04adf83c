"""The Atlassian connectors (built in): Jira (``jira`` with OAuth 2.0 3LO, ``jira_api_token``
with basic auth) and Confluence (``confluence``, ``confluence_api_token``). See
docs/connectors/jira.md and docs/connectors/confluence.md."""

from hub_connector_atlassian.adf import adf_to_text, markdown_to_adf
from hub_connector_atlassian.common import RateLimit, parse_rate_limit
from hub_connector_atlassian.confluence import ConfluenceConnector, ConfluenceTokenConnector
from hub_connector_atlassian.jira import JiraConnector, JiraTokenConnector
from hub_connector_atlassian.storage import storage_to_text

__all__ = [
    "ConfluenceConnector",
    "ConfluenceTokenConnector",
    "JiraConnector",
    "JiraTokenConnector",
    "RateLimit",
    "adf_to_text",
    "markdown_to_adf",
    "parse_rate_limit",
    "storage_to_text",
]
