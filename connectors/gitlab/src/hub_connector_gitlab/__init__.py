"""The GitLab connector (built in): ``GitLabConnector`` (OAuth application) and
``GitLabTokenConnector`` (``PRIVATE-TOKEN``: personal, project or group access token), for
gitlab.com and self-managed GitLab. See docs/connectors/gitlab.md."""

from hub_connector_gitlab.connector import GitLabConnector, GitLabTokenConnector
from hub_connector_gitlab.rate_limit import RateLimit, parse_rate_limit

__all__ = ["GitLabConnector", "GitLabTokenConnector", "RateLimit", "parse_rate_limit"]
