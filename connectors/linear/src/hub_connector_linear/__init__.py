"""The Linear connector (built in): ``LinearConnector`` (OAuth 2.0) and ``LinearApiKeyConnector``
(personal API key). See docs/connectors/linear.md."""

from hub_connector_linear.connector import LinearApiKeyConnector, LinearConnector
from hub_connector_linear.operations import OPERATIONS
from hub_connector_linear.rate_limit import RateLimit, parse_rate_limit

__all__ = ["OPERATIONS", "LinearApiKeyConnector", "LinearConnector", "RateLimit", "parse_rate_limit"]
