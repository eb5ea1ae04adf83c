"""What the hub does with SDK v2 result fields a plugin produced, and the content event mapping."""

import uuid
from datetime import UTC, datetime

import pytest

from hub_connector_sdk import ActionResult, ContentDocument
from hub_connectors.domain.action_summary import MAX_DETAILS_BYTES, bounded_errors
from hub_connectors.domain.content_export import ContentExport, content_event, cut_text
from hub_connectors.services.webhook_registrations import provider_secret_key

pytestmark = pytest.mark.unit


def test_plugin_error_details_are_redacted_and_bounded_again():
    leaky = ActionResult.fail(
        "provider_error", "no", error_details={"provider_body": "x", "access_token": "tok-123456789"}
    )
    assert bounded_errors(leaky).error_details == {"provider_body": "x", "access_token": "[REDACTED]"}
    huge = ActionResult.fail(
        "provider_error", "no", error_details={"provider_body": "y" * (MAX_DETAILS_BYTES * 2)}
    )
    assert bounded_errors(huge).error_details["truncated"] is True
    absurd = ActionResult.fail("provider_rate_limited", "slow", retry_after_s=10**9)
    assert bounded_errors(absurd).retry_after_s == 86_400.0
    plain = ActionResult.ok({"a": 1})
    assert bounded_errors(plain) is plain


def test_text_is_cut_on_a_character_boundary():
    assert cut_text("abc", 10) == ("abc", False)
    text, cut = cut_text("é" * 10, 5)  # two bytes each: never half of one
    assert cut and text == "éé"


def test_a_document_becomes_an_integration_content_event():
    now = datetime(2026, 3, 1, tzinfo=UTC)
    export = ContentExport(
        id=uuid.uuid4(), tenant_id="t1", connection_id=uuid.uuid4(), connector_id="github", user_id="u",
        mode="full", status="running", start_cursor=None, cursor=None, pages=0, documents=0, attempts=0,
        error_code=None, error_message=None, lease_owner="w", lease_until=now, created_at=now,
        updated_at=now, finished_at=None,
    )  # fmt: skip
    doc = ContentDocument(
        id="acme/app#1", title="Bug", text="long " * 10, url="https://x", author="al", updated_at=now
    )
    event = content_event(export, doc, max_text_bytes=12)
    assert event.topic == "integration.content" and event.partition_key() == str(export.connection_id)
    assert (event.id, event.connector_id, event.export_id, event.text_truncated) == (
        "acme/app#1",
        "github",
        export.id,
        True,
    )
    assert event.text == "long long lo"


def test_provider_secret_keys_are_vault_safe_and_stable():
    key = provider_secret_key("PWH/Ünicode id")
    assert key == provider_secret_key("PWH/Ünicode id") != provider_secret_key("other")
    assert key.startswith("webhook_secret.provider-") and key.isascii() and key == key.lower()
