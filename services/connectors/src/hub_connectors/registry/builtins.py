"""The connectors shipped with the hub, loaded before any plugin so that a plugin can never
shadow a built-in id. Each is a workspace package under ``connectors/`` that uses only the
connector SDK, exactly as a plugin does (docs/adr/0017); it is listed here instead of being
found through an entry point."""

from __future__ import annotations

from hub_connector_anthropic import AnthropicConnector
from hub_connector_openai import OpenAIConnector

from hub_connector_atlassian import (
    ConfluenceConnector,
    ConfluenceTokenConnector,
    JiraConnector,
    JiraTokenConnector,
)
from hub_connector_github import GitHubConnector, GitHubTokenConnector
from hub_connector_gitlab import GitLabConnector, GitLabTokenConnector
from hub_connector_linear import LinearApiKeyConnector, LinearConnector
from hub_connector_notion import NotionConnector, NotionTokenConnector
from hub_connector_sdk import BaseConnector
from hub_connector_slack import SlackBotTokenConnector, SlackConnector

BUILTINS: tuple[type[BaseConnector], ...] = (
    GitHubConnector,
    GitHubTokenConnector,
    GitLabConnector,
    GitLabTokenConnector,
    OpenAIConnector,
    AnthropicConnector,
    NotionConnector,
    NotionTokenConnector,
    SlackConnector,
    SlackBotTokenConnector,
    LinearConnector,
    LinearApiKeyConnector,
    JiraConnector,
    JiraTokenConnector,
    ConfluenceConnector,
    ConfluenceTokenConnector,
)
