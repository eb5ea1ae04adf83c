import json
import uuid
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from hub_common.events import (
    EVENT_MODELS,
    TOPICS,
    CredentialChanged,
    IntegrationConnected,
    decode,
    encode,
    model_for_type,
)
from hub_common.events.asyncapi import asyncapi_document
from hub_common.events.envelope import EnvelopeError

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[4]


def test_every_architecture_topic_has_a_model() -> None:
    assert set(TOPICS) == {
        "integration.connected",
        "integration.disconnected",
        "integration.status-changed",
        "integration.action-executed",
        "integration.api-request",
        "webhook.received",
        "webhook.delivered",
        "webhook.delivery-failed",
        "integration.trigger-fired",
        "credential.changed",
        "integration.content",  # content exports for local search (docs/adr/0016)
        "webhook.subscription-disabled",  # a subscriber endpoint stopped receiving (docs/adr/0020)
        "automation.run",  # one trigger→action automation run (docs/adr/0029)
    }


def test_encode_decode_round_trip_in_binary_mode() -> None:
    cid = uuid.uuid4()
    event = IntegrationConnected(
        tenant_id="acme", connection_id=cid, connector_id="github", external_account_id="octocat"
    )
    key, value, headers = encode(event, source="/integration-hub/test")
    h = dict(headers)
    assert key == str(cid).encode()
    assert h["ce_specversion"] == b"1.0"
    assert h["ce_type"] == b"dev.integrationhub.integration.connected.v1"
    assert h["ce_subject"] == str(cid).encode()
    assert json.loads(value)["connector_id"] == "github"  # data only: attributes live in headers
    assert "ce_id" not in json.loads(value)
    ce = decode(value, headers)
    assert ce.parse(IntegrationConnected) == event
    assert model_for_type(ce.type) is IntegrationConnected


def test_traceparent_is_propagated_from_the_current_span() -> None:
    provider = TracerProvider()
    tracer = provider.get_tracer("t")
    event = CredentialChanged(tenant_id="t", connection_id=uuid.uuid4(), change="stored")
    with tracer.start_as_current_span("parent") as span:
        _, value, headers = encode(event, source="s")
        trace_id = format(span.get_span_context().trace_id, "032x")
    ce = decode(value, headers)
    assert trace_id in ce.trace_headers["traceparent"]
    assert trace.get_current_span() is not span


def test_decode_rejects_records_that_are_not_cloudevents() -> None:
    with pytest.raises(EnvelopeError, match="missing CloudEvents headers"):
        decode(b"{}", [("content-type", b"application/json")])
    with pytest.raises(EnvelopeError):
        decode(b"{}", [("ce_id", b"1"), ("ce_type", b"t"), ("ce_source", b"s"), ("ce_specversion", b"0.3")])


def test_parse_refuses_a_different_type() -> None:
    event = CredentialChanged(tenant_id="t", connection_id=uuid.uuid4(), change="deleted")
    _, value, headers = encode(event, source="s")
    with pytest.raises(EnvelopeError):
        decode(value, headers).parse(IntegrationConnected)


def test_no_event_model_has_a_field_for_a_secret() -> None:
    forbidden = {"value", "secret", "token", "access_token", "refresh_token", "client_secret", "password"}
    for model in EVENT_MODELS:
        assert not forbidden & set(model.model_fields), model.__name__


def test_asyncapi_document_is_committed_and_current() -> None:
    committed = json.loads((ROOT / "docs" / "asyncapi.json").read_text())
    assert committed == json.loads(json.dumps(asyncapi_document(), sort_keys=True)), (
        "docs/asyncapi.json is stale: run `uv run hubctl asyncapi -o docs/asyncapi.json`"
    )
