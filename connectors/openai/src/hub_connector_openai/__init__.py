"""The OpenAI connector (built in). See docs/connectors/openai.md."""

from hub_connector_openai.connector import OpenAIConnector
from hub_connector_openai.rate_limit import parse_duration, parse_rate_limit

__all__ = ["OpenAIConnector", "parse_duration", "parse_rate_limit"]
