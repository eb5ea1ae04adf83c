"""AsyncAPI 3.0 description of the hub's topics, generated from the typed event models."""

from __future__ import annotations

from typing import Any

from hub_common.events.models import EVENT_MODELS

_PRODUCERS = {
    "integration.connected": "oauth, connectors",
    "integration.disconnected": "connectors",
    "integration.status-changed": "oauth, connectors",
    "integration.action-executed": "connectors",
    "integration.api-request": "gateway",
    "webhook.received": "webhooks",
    "webhook.delivered": "webhooks",
    "webhook.delivery-failed": "webhooks",
    "integration.trigger-fired": "connectors",
    "credential.changed": "vault, oauth",
}


def asyncapi_document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for model in EVENT_MODELS:
        name = model.__name__
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for def_name, definition in schema.pop("$defs", {}).items():
            schemas[def_name] = definition
        schemas[name] = schema
        messages[name] = {
            "name": model.event_type(),
            "title": name,
            "summary": (model.__doc__ or "").strip() or name,
            "contentType": "application/json",
            "bindings": {"kafka": {"key": {"type": "string", "description": "connection id"}}},
            "headers": {
                "type": "object",
                "required": ["ce_id", "ce_type", "ce_source", "ce_specversion"],
                "properties": {
                    "ce_specversion": {"const": "1.0"},
                    "ce_id": {"type": "string"},
                    "ce_type": {"const": model.event_type()},
                    "ce_source": {"type": "string"},
                    "ce_time": {"type": "string", "format": "date-time"},
                    "ce_subject": {"type": "string"},
                    "traceparent": {"type": "string"},
                },
            },
            "payload": {"$ref": f"#/components/schemas/{name}"},
        }
        channels[model.topic] = {
            "address": model.topic,
            "description": f"Produced by {_PRODUCERS.get(model.topic, 'the hub')}.",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        operations[f"publish-{model.topic}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{model.topic}"},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Integration Hub events",
            "version": "1.0.0",
            "description": "CloudEvents 1.0 in Kafka binary mode; key = connection id.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
