"""Pure pieces around events: audit rows from events, keyset cursors, bounded action summaries,
health verdicts and schema errors that never echo input."""

import uuid
from datetime import UTC, datetime

import pytest

from hub_common.errors import BadRequest
from hub_common.events import (
    ActionResultSummary,
    ConnectionStatusChanged,
    CredentialChanged,
    IntegrationActionExecuted,
    IntegrationConnected,
    IntegrationDisconnected,
    WebhookReceived,
)
from hub_common.pagination import Cursor
from hub_connector_sdk import ActionResult, ConnectorHealth
from hub_connectors.domain.action_summary import summarize
from hub_connectors.domain.audit import entry_for
from hub_connectors.domain.health import account_of, error_text, verdict
from hub_connectors.domain.schemas import schema_errors
from hub_connectors.domain.states import ConnectionStatus

pytestmark = pytest.mark.unit
CID = uuid.uuid4()


def test_audit_rows_from_events():
    connected = entry_for(
        "e1",
        IntegrationConnected(
            tenant_id="t",
            connection_id=CID,
            connector_id="gh",
            external_account_id="42",
            auth_method="oauth2",
        ),
    )
    assert connected.event_type == "integration.connected" and connected.status == "success"
    assert connected.details == {"external_account_id": "42", "auth_method": "oauth2"}
    action = entry_for("e2", IntegrationActionExecuted(
        tenant_id="t", connection_id=CID, connector_id="gh", action_id="create_issue", duration_ms=12,
        result=ActionResultSummary(success=False, data={"secret": "x"}, error_code="provider_error",
                                   error_message="failed with Bearer abcdefghijklmnop", status_code=500),
    ))  # fmt: skip
    assert action.action_id == "create_issue" and action.status == "failure"
    assert action.details == {"duration_ms": 12, "error_code": "provider_error", "status_code": 500}
    assert "abcdefghijklmnop" not in action.error_message
    gone = entry_for(
        "e3", IntegrationDisconnected(tenant_id="t", connection_id=CID, connector_id="gh", reason="user")
    )
    assert gone.details == {"reason": "user"}
    cred = entry_for("e4", CredentialChanged(tenant_id="t", connection_id=CID, change="deleted_all"))
    assert cred.details == {"change": "deleted_all", "credential_key": None} and cred.connector_id is None
    status = entry_for("e6", ConnectionStatusChanged(tenant_id="t", connection_id=CID, connector_id="gh",
                                                    status="token_invalid", previous_status="active",
                                                    reason="invalid_grant"))  # fmt: skip
    assert status.event_type == "integration.status-changed" and status.status == "failure"
    assert (
        status.details == {"from": "active", "to": "token_invalid"}
        and status.error_message == "invalid_grant"
    )
    webhook = WebhookReceived(tenant_id="t", connector_id="gh", delivery_id="d", body="{}")
    assert entry_for("e5", webhook) is None


def test_cursor_round_trip_and_garbage():
    cursor = Cursor(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), uuid.uuid4())
    assert Cursor.decode(cursor.encode()) == cursor
    for bad in ("", "%%%", "bm90IGEgY3Vyc29y"):
        with pytest.raises(BadRequest):
            Cursor.decode(bad)


def test_action_summaries_are_bounded_and_redacted():
    small = summarize(ActionResult.ok({"id": 1, "access_token": "tok-123"}), 1024)
    assert small.data == {"id": 1, "access_token": "[REDACTED]"}
    big = summarize(ActionResult.ok({"blob": "x" * 5000}), 1024)
    assert big.data["truncated"] is True and big.data["size_bytes"] > 5000
    scalar = summarize(ActionResult.ok(42), 1024)
    assert scalar.data == {"value": 42}
    failed = summarize(ActionResult.fail("x", "y" * 5000), 1024)
    assert len(failed.error_message) == 1000 and not failed.success


def test_health_verdicts():
    assert verdict(ConnectorHealth(is_healthy=True)) is ConnectionStatus.ACTIVE
    refused = ConnectorHealth(is_healthy=False, credentials_invalid=True, message="401 token ghp_" + "a" * 30)
    assert verdict(refused) is ConnectionStatus.TOKEN_INVALID
    assert "ghp_" not in error_text(refused)
    assert verdict(ConnectorHealth(is_healthy=False)) is ConnectionStatus.ERROR
    assert error_text(ConnectorHealth(is_healthy=True)) is None
    assert account_of(ConnectorHealth(is_healthy=True, account_info={"login": "ada"})) == ("ada", "ada")


def test_schema_errors_do_not_echo_values():
    schema = {
        "type": "object",
        "properties": {"title": {"type": "string"}, "n": {"type": "integer", "maximum": 3}},
        "required": ["title"],
        "additionalProperties": False,
    }
    assert schema_errors(schema, {"title": "ok"}) == []
    errors = schema_errors(schema, {"n": "super-secret-value", "zzz": 1})
    text = str(errors)
    assert "super-secret-value" not in text
    rules = sorted(e["rule"] for e in errors)
    assert rules == ["additionalProperties", "required", "type"]
    assert {"path": "/", "rule": "required", "message": "missing required property 'title'"} in errors
