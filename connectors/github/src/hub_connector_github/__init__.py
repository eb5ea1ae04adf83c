"""The GitHub connector (built in): ``GitHubConnector`` (OAuth App) and ``GitHubTokenConnector``
(personal access token). See docs/connectors/github.md."""

from hub_connector_github.connector import GitHubConnector, GitHubTokenConnector
from hub_connector_github.rate_limit import RateLimit, parse_rate_limit

__all__ = ["GitHubConnector", "GitHubTokenConnector", "RateLimit", "parse_rate_limit"]
