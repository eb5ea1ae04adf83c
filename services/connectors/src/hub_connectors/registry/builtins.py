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
from hub_connector_sdk import BaseConnector

BUILTINS: tuple[type[BaseConnector], ...] = (
    GitHubConnector,
    GitHubTokenConnector,
    OpenAIConnector,
    AnthropicConnector,
    JiraConnector,
    JiraTokenConnector,
    ConfluenceConnector,
    ConfluenceTokenConnector,
)
