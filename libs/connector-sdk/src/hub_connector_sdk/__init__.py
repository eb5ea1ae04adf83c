"""Integration Hub connector SDK (usable on its own: pydantic, httpx, jsonschema).

SDK v2 (see docs/connector-sdk.md): typed webhook signature specs with a verifier, provider-issued
webhook secrets, trigger event ids and times, provider error excerpts and Retry-After, pagination
helpers, content export, and a test kit as strict as the hub.

Build a connector by subclassing :class:`BaseConnector`, declaring actions with
:func:`action` and triggers with :func:`trigger` / :func:`polling_trigger`, and publishing it
as a Python package with an ``integration_hub.connectors`` entry point. Test it with
:mod:`hub_connector_sdk.testkit` (gateway stub, record/replay, OpenAPI checks). See docs/connector-sdk.md.
"""

from hub_connector_sdk.base import BaseConnector, action, polling_trigger, trigger
from hub_connector_sdk.client import (
    ProviderClient,
    ProviderResponse,
    body_excerpt,
    error_for,
    provider_message,
    retry_after,
    segment,
)
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
    ContentDocument,
    CredentialField,
    ExportPage,
    OAuthConfig,
    PollResult,
    TriggerEvent,
    TriggerOutput,
    TriggerType,
    WebhookRegistration,
)
from hub_connector_sdk.pagination import (
    Cursor,
    LinkHeader,
    Offset,
    Page,
    Paginator,
    collect,
    pages,
    paginate,
    parse_link_header,
)
from hub_connector_sdk.versions import HUB_VERSION
from hub_connector_sdk.watch import WatchCursor
from hub_connector_sdk.webhook_signatures import (
    PRESETS,
    HmacSignature,
    JwtSignature,
    TokenSignature,
    VerifiedWebhook,
    WebhookSignature,
    WebhookVerificationError,
    sign_webhook,
    verify_webhook,
    webhook_signature,
)

ENTRY_POINT_GROUP = "integration_hub.connectors"
SDK_VERSION = "0.2.0"

__all__ = [
    "ENTRY_POINT_GROUP",
    "HUB_VERSION",
    "PRESETS",
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
    "ContentDocument",
    "CredentialField",
    "CredentialsRejected",
    "Cursor",
    "ExportPage",
    "GatewayError",
    "HmacSignature",
    "InvalidParameters",
    "JwtSignature",
    "LinkHeader",
    "ManifestError",
    "OAuthConfig",
    "Offset",
    "Page",
    "Paginator",
    "PollResult",
    "ProviderClient",
    "ProviderError",
    "ProviderResponse",
    "TokenSignature",
    "TriggerEvent",
    "TriggerOutput",
    "TriggerType",
    "UnknownAction",
    "UnknownTrigger",
    "VerifiedWebhook",
    "WatchCursor",
    "WebhookRegistration",
    "WebhookSignature",
    "WebhookVerificationError",
    "action",
    "body_excerpt",
    "collect",
    "error_for",
    "pages",
    "paginate",
    "parse_link_header",
    "polling_trigger",
    "provider_message",
    "retry_after",
    "segment",
    "sign_webhook",
    "trigger",
    "verify_webhook",
    "webhook_signature",
]
