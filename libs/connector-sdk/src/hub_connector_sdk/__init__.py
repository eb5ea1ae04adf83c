"""Integration Hub connector SDK (usable on its own: pydantic, httpx, jsonschema).

Build a connector by subclassing :class:`BaseConnector`, declaring actions with
:func:`action` and triggers with :func:`trigger` / :func:`polling_trigger`, and publishing it
as a Python package with an ``integration_hub.connectors`` entry point. Test it with
:mod:`hub_connector_sdk.testkit` (gateway stub, record/replay, OpenAPI checks). See docs/connector-sdk.md.
"""

from hub_connector_sdk.base import BaseConnector, action, polling_trigger, trigger
from hub_connector_sdk.client import ProviderClient, ProviderResponse, segment
from hub_connector_sdk.errors import (
    ConnectorError,
    CredentialsRejected,
    GatewayError,
    InvalidParameters,
    ManifestError,
    ProviderError,
    UnknownAction,
    UnknownTrigger,
)
from hub_connector_sdk.models import (
    ActionResult,
    ApiKeyPlacement,
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    ConnectionContext,
    ConnectorAction,
    ConnectorCategory,
    ConnectorHealth,
    ConnectorManifest,
    ConnectorTrigger,
    CredentialField,
    OAuthConfig,
    PollResult,
    TriggerEvent,
    TriggerType,
    WebhookRegistration,
)

ENTRY_POINT_GROUP = "integration_hub.connectors"
SDK_VERSION = "0.1.0"

__all__ = [
    "ENTRY_POINT_GROUP",
    "SDK_VERSION",
    "ActionResult",
    "ApiKeyPlacement",
    "ApiSpec",
    "AuthSpec",
    "AuthenticationMethod",
    "BaseConnector",
    "ConnectionContext",
    "ConnectorAction",
    "ConnectorCategory",
    "ConnectorError",
    "ConnectorHealth",
    "ConnectorManifest",
    "ConnectorTrigger",
    "CredentialField",
    "CredentialsRejected",
    "GatewayError",
    "InvalidParameters",
    "ManifestError",
    "OAuthConfig",
    "PollResult",
    "ProviderClient",
    "ProviderError",
    "ProviderResponse",
    "TriggerEvent",
    "TriggerType",
    "UnknownAction",
    "UnknownTrigger",
    "WebhookRegistration",
    "action",
    "polling_trigger",
    "segment",
    "trigger",
]
