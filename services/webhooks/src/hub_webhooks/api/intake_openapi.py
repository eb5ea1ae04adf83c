"""The intake's operations in the OpenAPI document.

The intake routes are plain Starlette routes (the hot path, see ``routes_intake``), so FastAPI
does not see them; they are described here and added to the document, and schemathesis holds
the running service to this description like every other operation.
"""

from __future__ import annotations

from typing import Any

_ACCEPTED = {
    "type": "object",
    "description": "One of: the delivery made durable (`accepted`, or `duplicate` of one already "
    "accepted, changing nothing); Slack's `url_verification` answered (`challenge`); Notion's "
    "one-time verification token stored.",
    "properties": {
        "status": {"type": "string", "enum": ["accepted", "duplicate", "verification_token_stored"]},
        "delivery_id": {"type": "string", "description": "the provider's delivery id, or the body's SHA-256"},
        "challenge": {"type": "string"},
    },
}

_CONNECTOR = {
    "name": "connector_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The connector the registration belongs to",
}
_REGISTRATION = {
    "name": "registration_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
    "description": "The registration (from `POST /v1/webhooks/registrations`)",
}


def _operation(operation_id: str, summary: str) -> dict[str, Any]:
    return {
        "tags": ["webhook intake"],
        "operationId": operation_id,
        "summary": summary,
        "description": (
            "Verified before anything parses the body, failing closed: no secret, no signature, a "
            "malformed, wrong or stale one → 401 (`signature_missing`, `signature_mismatch`, "
            "`timestamp_out_of_tolerance`, ...). Answered 200 only once the event is durable; a "
            "provider's retry of a delivery already accepted is 200 `duplicate`. Body up to 1 MiB."
        ),
        "requestBody": {"required": True, "content": {"*/*": {"schema": {}}}},
        "responses": {
            "200": {
                "description": "Durable (or a duplicate), or a handshake answered",
                "content": {"application/json": {"schema": _ACCEPTED}},
            }
        },
    }


def intake_paths() -> dict[str, Any]:
    return {
        "/webhooks/{connector_id}/{registration_id}": {
            "parameters": [_CONNECTOR, _REGISTRATION],
            "post": _operation("receive_webhook", "A provider's delivery to one registration"),
        },
        "/webhooks/{connector_id}": {
            "parameters": [_CONNECTOR],
            "post": _operation(
                "receive_app_webhook",
                "A provider's delivery to the app's one URL (Slack), routed by the payload's workspace",
            ),
        },
    }
