"""The Atlassian connectors (built in): Jira (``jira`` with OAuth 2.0 3LO, ``jira_api_token``
with basic auth). See docs/connectors/jira.md."""

from hub_connector_atlassian.adf import adf_to_text, markdown_to_adf
from hub_connector_atlassian.common import RateLimit, parse_rate_limit
from hub_connector_atlassian.jira import JiraConnector, JiraTokenConnector

__all__ = [
    "JiraConnector",
    "JiraTokenConnector",
    "RateLimit",
    "adf_to_text",
    "markdown_to_adf",
    "parse_rate_limit",
]
