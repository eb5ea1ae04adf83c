"""The Slack connector (built in): ``SlackConnector`` (OAuth v2) and ``SlackBotTokenConnector``
(a bot token). See docs/connectors/slack.md."""

from hub_connector_slack.connector import SlackBotTokenConnector, SlackConnector
from hub_connector_slack.errors import METHOD_TIERS, MethodLimit, method_limit, slack_error

__all__ = [
    "METHOD_TIERS",
    "MethodLimit",
    "SlackBotTokenConnector",
    "SlackConnector",
    "method_limit",
    "slack_error",
]
