from typing import Any

import pytest

from hub_connector_sdk import BaseConnector, InvalidParameters, UnknownAction, action

pytestmark = pytest.mark.unit


def _errors(connector: type[BaseConnector], action_id: str, params: dict[str, Any]) -> list[dict[str, str]]:
    with pytest.raises(InvalidParameters) as caught:
        connector.validate_parameters(action_id, params)
    assert caught.value.code == "invalid_parameters"
    assert action_id in caught.value.message
    errors: list[dict[str, str]] = caught.value.details["errors"]
    return errors


def test_valid_parameters_become_the_pydantic_model(tracker: type[BaseConnector]) -> None:
    params = tracker.validate_parameters("create_issue", {"title": "Bug", "labels": ["a"]})

    assert type(params).__name__ == "CreateIssue"
    assert (params.title, params.labels, params.priority) == ("Bug", ["a"], 3)


def test_dict_schema_actions_receive_the_dict(tracker: type[BaseConnector]) -> None:
    assert tracker.validate_parameters("list_issues", {"state": "open"}) == {"state": "open"}


def test_a_missing_required_field_points_at_the_field(tracker: type[BaseConnector]) -> None:
    errors = _errors(tracker, "create_issue", {"body": "no title"})

    assert errors == [
        {"path": "/title", "message": "'title' is a required property", "validator": "required"}
    ]


def test_every_problem_is_listed_with_its_path(tracker: type[BaseConnector]) -> None:
    errors = _errors(tracker, "create_issue", {"title": "", "labels": ["ok", 7], "priority": 9})

    by_path = {e["path"]: e for e in errors}
    assert set(by_path) == {"/labels/1", "/priority", "/title"}
    assert by_path["/labels/1"]["message"] == "7 is not of type 'string'"
    assert by_path["/priority"]["validator"] == "maximum"
    assert (
        "should be non-empty" in by_path["/title"]["message"] or "too short" in by_path["/title"]["message"]
    )


def test_an_unexpected_field_points_at_the_field(tracker: type[BaseConnector]) -> None:
    errors = _errors(tracker, "create_issue", {"title": "x", "assignee": "bob"})

    assert errors[0]["path"] == "/assignee"
    assert "'assignee' was unexpected" in errors[0]["message"]


def test_enum_violation_in_a_dict_schema(tracker: type[BaseConnector]) -> None:
    errors = _errors(tracker, "list_issues", {"state": "merged"})

    assert errors == [
        {"path": "/state", "message": "'merged' is not one of ['open', 'closed']", "validator": "enum"}
    ]


def test_several_missing_fields_each_get_their_own_path(tracker: type[BaseConnector]) -> None:
    class Nested(tracker):  # type: ignore[valid-type,misc]
        @action(
            params={
                "type": "object",
                "properties": {"a": {"type": "string"}, "b": {"type": "object", "required": ["c"]}},
                "required": ["a", "b"],
            }
        )
        async def needs_two(self, params: dict[str, Any]) -> None: ...

    assert {e["path"] for e in _errors(Nested, "needs_two", {})} == {"/a", "/b"}
    assert [e["path"] for e in _errors(Nested, "needs_two", {"a": "x", "b": {}})] == ["/b/c"]


def test_unknown_action_is_a_404(tracker: type[BaseConnector]) -> None:
    with pytest.raises(UnknownAction) as caught:
        tracker.validate_parameters("delete_everything", {})

    assert caught.value.status_code == 404
    assert "delete_everything" in caught.value.message
