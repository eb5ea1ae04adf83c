"""The connector as the hub sees it: its manifest, and its discovery as an installed plugin."""

from importlib.metadata import entry_points

import pytest
from jsonschema import Draft202012Validator

from hub_connector_sdk import ENTRY_POINT_GROUP, AuthenticationMethod, ConnectorManifest
from hub_connector_sdk.testkit import assert_valid_connector
from hub_connector_statuspage import StatuspageConnector

pytestmark = pytest.mark.unit


def test_the_connector_passes_the_kits_checks() -> None:
    assert_valid_connector(StatuspageConnector)


def test_manifest() -> None:
    manifest = StatuspageConnector.manifest()

    assert (manifest.id, manifest.version, manifest.builtin) == ("statuspage", "1.1.0", False)
    assert [a.id for a in manifest.actions] == [
        "create_incident",
        "update_incident",
        "list_incidents",
        "update_component_status",
    ]
    assert [(t.id, t.delivery) for t in manifest.triggers] == [
        ("incident_updated", "webhook"),
        ("component_status_changed", "webhook"),
        ("incident_created", "polling"),
    ]
    assert all(a.output_schema for a in manifest.actions)
    assert ConnectorManifest.model_validate(manifest.model_dump(mode="json")) == manifest


def test_auth_is_an_api_key_the_gateway_sends_as_oauth_header() -> None:
    auth = StatuspageConnector.manifest().auth

    assert auth.method is AuthenticationMethod.API_KEY
    assert auth.api_key is not None
    assert (auth.api_key.location, auth.api_key.name, auth.api_key.prefix) == (
        "header",
        "Authorization",
        "OAuth ",
    )
    assert [f.key for f in auth.fields] == ["api_key"]


def test_calls_may_only_reach_statuspage() -> None:
    api = StatuspageConnector.manifest().api

    assert api.base_url == "https://api.statuspage.io/v1"
    assert api.allowed_hosts == ["api.statuspage.io"]


def test_config_needs_a_page_id() -> None:
    validator = Draft202012Validator(StatuspageConnector.manifest().api.config_schema)

    assert validator.is_valid({"page_id": "kctbh9vrtdwd", "webhook_email": "ops@acme.test"})
    assert not validator.is_valid({})
    assert not validator.is_valid({"page_id": "../admin"})
    assert not validator.is_valid({"page_id": "p1", "extra": 1})


def test_installed_plugin_is_discovered_through_its_entry_point() -> None:
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}

    assert ENTRY_POINT_GROUP == "integration_hub.connectors"
    assert "statuspage" in found, "install the example: uv sync (it is a workspace member)"
    entry = found["statuspage"]
    assert entry.value == "hub_connector_statuspage:StatuspageConnector"
    assert entry.load() is StatuspageConnector
    assert entry.dist is not None and entry.dist.name == "hub-connector-statuspage"
