"""Atlassian Statuspage connector for Integration Hub: a complete custom connector plugin.

Installed next to the hub, it is found through the ``integration_hub.connectors`` entry point
declared in this project's pyproject.toml. See docs/connector-sdk.md for the walkthrough.
"""

from hub_connector_statuspage.connector import StatuspageConnector

__all__ = ["StatuspageConnector"]
