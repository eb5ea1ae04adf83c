"""Connectors that exist only for end-to-end tests: they point at the local simulators.

They are not installed as plugins of the development environment; ``plugin_path`` writes a
throw-away distribution with the ``integration_hub.connectors`` entry point, to put on the
PYTHONPATH of the service processes an e2e test starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub_connector_sdk import (
    ApiKeyPlacement,
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    BaseConnector,
    ConnectorCategory,
    CredentialField,
    OAuthConfig,
    action,
)

_URL = {"type": "string", "format": "uri", "maxLength": 2048}


class SimulatedOAuthConnector(BaseConnector):
    """A generic RFC 6749 provider; every endpoint is set per connection (config ``oauth_*``)."""

    id = "simoauth"
    name = "Simulated OAuth provider"
    version = "1.0.0"
    category = ConnectorCategory.CUSTOM
    description = "Test connector for the OAuth simulator (tests/e2e)."
    auth = AuthSpec(
        method=AuthenticationMethod.OAUTH2,
        oauth=OAuthConfig(
            authorization_url="https://oauth.simulator.invalid/authorize",
            token_url="https://oauth.simulator.invalid/token",
            revocation_url="https://oauth.simulator.invalid/revoke",
            identity_url="https://oauth.simulator.invalid/userinfo",
            identity_id_field="sub",
            client_auth="client_secret_basic",
            default_scopes=["read"],
        ),
    )
    api = ApiSpec(
        base_url="https://oauth.simulator.invalid",
        allowed_hosts=["oauth.simulator.invalid", "127.0.0.1"],
        config_schema={
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "base_url": _URL,
                "oauth_authorization_url": _URL,
                "oauth_token_url": _URL,
                "oauth_revocation_url": _URL,
                "oauth_identity_url": _URL,
            },
        },
    )
    health_path = "/userinfo"

    @action(params={"type": "object", "properties": {}, "additionalProperties": False})
    async def whoami(self, params: dict[str, Any]) -> Any:
        """Who the connection's token belongs to."""
        return (await self.client.get("/userinfo")).json()


class SimulatedApiKeyConnector(BaseConnector):
    """An API-key provider (the key in ``Authorization: OAuth <key>``, Statuspage's scheme) served
    by a test's own loopback server, set per connection (config ``base_url``)."""

    id = "simapikey"
    name = "Simulated API-key provider"
    version = "1.0.0"
    category = ConnectorCategory.CUSTOM
    description = "Test connector for an API-key provider on loopback (tests/e2e)."
    auth = AuthSpec(
        method=AuthenticationMethod.API_KEY,
        api_key=ApiKeyPlacement(location="header", name="Authorization", prefix="OAuth "),
        fields=[CredentialField(key="api_key", label="API key")],
    )
    api = ApiSpec(
        base_url="https://apikey.simulator.invalid",
        allowed_hosts=["apikey.simulator.invalid", "127.0.0.1"],
        config_schema={
            "type": "object",
            "additionalProperties": False,
            "properties": {"base_url": _URL},
        },
    )
    health_path = "/account"

    def health_account_info(self, body: Any) -> Mapping[str, str]:
        return {"id": str(body["id"]), "name": str(body["name"])} if isinstance(body, dict) else {}


def plugin_path(folder: Path) -> Path:
    """Write a minimal installed distribution exposing the test connectors (``simoauth``,
    ``simapikey``, and ``hostile`` from ``hub_e2e.hostile``); returns ``folder``."""
    dist = folder / "hub_e2e_test_connectors-0.0.0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hub-e2e-test-connectors\nVersion: 0.0.0\n")
    (dist / "entry_points.txt").write_text(
        "[integration_hub.connectors]\n"
        "simoauth = hub_e2e.connectors:SimulatedOAuthConnector\n"
        "hostile = hub_e2e.hostile:HostilePlugin\n"
        "simapikey = hub_e2e.connectors:SimulatedApiKeyConnector\n"
    )
    return folder
