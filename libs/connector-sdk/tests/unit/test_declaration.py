from typing import Any

import pytest
from pydantic import BaseModel

from hub_connector_sdk import (
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    BaseConnector,
    ConnectorCategory,
    ConnectorManifest,
    TriggerType,
    action,
)

pytestmark = pytest.mark.unit


class _Minimal(BaseConnector):
    id = "minimal"
    name = "Minimal"
    category = ConnectorCategory.CUSTOM
    description = "minimal"
    auth = AuthSpec(method=AuthenticationMethod.NONE)
    api = ApiSpec(base_url="https://api.minimal.test")


def test_manifest_is_built_from_class_attributes_and_decorators(tracker: type[BaseConnector]) -> None:
    manifest = tracker.manifest()

    assert isinstance(manifest, ConnectorManifest)
    assert (manifest.id, manifest.name, manifest.version) == ("tracker", "Tracker", "1.2.3")
    assert manifest.api.allowed_hosts == ["api.tracker.test"]
    assert [a.id for a in manifest.actions] == ["create_issue", "list_issues"]
    assert [t.id for t in manifest.triggers] == ["issue_opened", "issue_closed", "new_issue"]


def test_action_metadata_comes_from_the_decorator_and_docstring(tracker: type[BaseConnector]) -> None:
    create = tracker.manifest().action("create_issue")

    assert create is not None
    assert create.name == "Create issue"
    assert create.description == "Create an issue."  # first paragraph only
    assert create.required_scopes == ["issues:write"]
    assert create.idempotent is False
    listing = tracker.manifest().action("list_issues")
    assert listing is not None and listing.idempotent is True


def test_parameter_schema_from_a_pydantic_model(tracker: type[BaseConnector]) -> None:
    create = tracker.manifest().action("create_issue")
    assert create is not None

    schema = create.parameters_schema
    assert schema["type"] == "object"
    assert schema["required"] == ["title"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["priority"]["maximum"] == 5
    assert schema["properties"]["title"]["description"] == "Issue title"


def test_parameter_schema_given_as_a_dict_is_kept_verbatim(tracker: type[BaseConnector]) -> None:
    listing = tracker.manifest().action("list_issues")
    assert listing is not None

    assert listing.parameters_schema == {
        "type": "object",
        "properties": {"state": {"enum": ["open", "closed"]}},
        "additionalProperties": False,
    }
    assert listing.output_schema == {"type": "array"}


def test_output_schema_describes_the_serialised_model(tracker: type[BaseConnector]) -> None:
    create = tracker.manifest().action("create_issue")
    assert create is not None and create.output_schema is not None

    assert set(create.output_schema["properties"]) == {"id", "title", "state"}


def test_an_action_without_params_takes_an_empty_object() -> None:
    class NoParams(_Minimal):
        @action()
        async def ping(self, params: dict[str, Any]) -> str:
            return "pong"

    ping = NoParams.manifest().action("ping")
    assert ping is not None
    assert ping.parameters_schema == {"type": "object", "properties": {}, "additionalProperties": False}


def test_trigger_declarations(tracker: type[BaseConnector]) -> None:
    manifest = tracker.manifest()
    opened, closed, polled = manifest.triggers

    assert opened.type is TriggerType.CREATED
    assert opened.is_webhook_based and opened.provider_events == ["issue.opened"]
    assert opened.description == "An issue was opened."
    assert closed.provider_events == ["issue.closed", "issue.deleted"]
    assert polled.delivery == "polling" and not polled.is_webhook_based
    assert polled.poll_interval_s == 30


def test_subclass_inherits_and_may_override_declarations(tracker: type[BaseConnector]) -> None:
    class Params(BaseModel):
        title: str

    class Tracker2(tracker):  # type: ignore[valid-type,misc]
        id = "tracker_two"

        @action("create_issue", params=Params)
        async def create_issue_v2(self, params: Params) -> dict[str, str]:
            return {"title": params.title}

    manifest = Tracker2.manifest()
    assert manifest.id == "tracker_two"
    assert [a.id for a in manifest.actions] == ["create_issue", "list_issues"]
    create = manifest.action("create_issue")
    assert create is not None and create.parameters_schema["required"] == ["title"]
    assert "priority" not in create.parameters_schema["properties"]


def test_manifest_is_json_serialisable(tracker: type[BaseConnector]) -> None:
    data = tracker.manifest().model_dump(mode="json")

    assert ConnectorManifest.model_validate(data) == tracker.manifest()


def test_invalid_parameter_schema_is_refused_at_declaration() -> None:
    from jsonschema.exceptions import SchemaError

    with pytest.raises(SchemaError):

        @action(params={"type": "not-a-type"})
        async def broken(self: Any, params: dict[str, Any]) -> None: ...
