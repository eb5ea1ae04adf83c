"""Test kit for connector authors: run a connector without a hub, replay recorded provider
traffic, and check requests against the provider's published API description.

- :class:`GatewayStub` — a unit-test fake of the gateway: routes to handlers or a cassette.
- :class:`RecordReplayTransport` — record real traffic to a JSON cassette, replay it later.
- :class:`DirectProviderTransport` — reach the provider directly to record (developer machine).
- :class:`OpenApiSpec` — ``validate_request(method, path, query, json_body)`` → :class:`SpecViolation`.
- :func:`run_action`, :func:`run_health_check`, :func:`run_poll`, :func:`run_export`,
  :func:`parse_webhook`, :func:`assert_valid_connector` — one-call helpers, as strict as the hub
  (outputs and trigger payloads checked against their schemas: :class:`SchemaMismatch`).

Needs nothing beyond the SDK's own dependencies (pytest only for :func:`provider_spec`'s skip).
"""

from hub_connector_sdk.testkit._openapi_schema import SpecError
from hub_connector_sdk.testkit.cassette import Cassette, Interaction
from hub_connector_sdk.testkit.gateway import (
    DirectProviderTransport,
    GatewayStub,
    StubRequest,
    UnexpectedRequest,
)
from hub_connector_sdk.testkit.helpers import (
    SchemaMismatch,
    assert_valid_connector,
    check_against,
    check_trigger_payloads,
    connection_context,
    connector_problems,
    gateway_stub,
    parse_webhook,
    run_action,
    run_export,
    run_health_check,
    run_poll,
    signed_delivery,
)
from hub_connector_sdk.testkit.openapi import OpenApiSpec, Operation, SpecViolation
from hub_connector_sdk.testkit.recording import MODE_ENV, CassetteMismatch, RecordReplayTransport
from hub_connector_sdk.testkit.redaction import REDACTED
from hub_connector_sdk.testkit.specs import SPECS_ENV, find_specs_dir, provider_spec, spec_file

__all__ = [
    "MODE_ENV",
    "REDACTED",
    "SPECS_ENV",
    "Cassette",
    "CassetteMismatch",
    "DirectProviderTransport",
    "GatewayStub",
    "Interaction",
    "OpenApiSpec",
    "Operation",
    "RecordReplayTransport",
    "SchemaMismatch",
    "SpecError",
    "SpecViolation",
    "StubRequest",
    "UnexpectedRequest",
    "assert_valid_connector",
    "check_against",
    "check_trigger_payloads",
    "connection_context",
    "connector_problems",
    "find_specs_dir",
    "gateway_stub",
    "parse_webhook",
    "provider_spec",
    "run_action",
    "run_export",
    "run_health_check",
    "run_poll",
    "signed_delivery",
    "spec_file",
]
