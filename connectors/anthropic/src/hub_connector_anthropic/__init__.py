"""The Anthropic connector (built in). See docs/connectors/anthropic.md."""

from hub_connector_anthropic.connector import AnthropicConnector
from hub_connector_anthropic.rate_limit import parse_rate_limit

__all__ = ["AnthropicConnector", "parse_rate_limit"]
