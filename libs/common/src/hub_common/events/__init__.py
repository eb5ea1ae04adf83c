"""Typed, versioned integration events and their CloudEvents envelope over Kafka."""

from hub_common.events.envelope import CloudEvent, decode, encode
from hub_common.events.models import (
    EVENT_MODELS,
    TOPICS,
    ActionResultSummary,
    ConnectionStatusChanged,
    CredentialChanged,
    HubEvent,
    IntegrationActionExecuted,
    IntegrationApiRequest,
    IntegrationConnected,
    IntegrationContent,
    IntegrationDisconnected,
    IntegrationTriggerFired,
    WebhookDelivered,
    WebhookDeliveryFailed,
    WebhookReceived,
    model_for_type,
)

__all__ = [
    "EVENT_MODELS",
    "TOPICS",
    "ActionResultSummary",
    "CloudEvent",
    "ConnectionStatusChanged",
    "CredentialChanged",
    "HubEvent",
    "IntegrationActionExecuted",
    "IntegrationApiRequest",
    "IntegrationConnected",
    "IntegrationContent",
    "IntegrationDisconnected",
    "IntegrationTriggerFired",
    "WebhookDelivered",
    "WebhookDeliveryFailed",
    "WebhookReceived",
    "decode",
    "encode",
    "model_for_type",
]
