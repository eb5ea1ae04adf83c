"""The OpenAPI request validator: against GitHub's published description, and small in-memory
descriptions for each dialect rule."""

from typing import Any

import pytest

from hub_connector_sdk.testkit import OpenApiSpec, SpecError, SpecViolation, provider_spec

pytestmark = pytest.mark.unit
ISSUES = "/repos/acme/app/issues"


@pytest.fixture(scope="module")
def github() -> OpenApiSpec:
    return provider_spec("github-rest.json")


def _problems(spec: OpenApiSpec, *args: Any, **kw: Any) -> list[str]:
    with pytest.raises(SpecViolation) as caught:
        spec.validate_request(*args, **kw)
    return caught.value.problems


# -- GitHub's real description --
def test_creating_an_issue_with_a_title_is_valid(github: OpenApiSpec) -> None:
    operation = github.validate_request("POST", ISSUES, json_body={"title": "Bug", "labels": ["bug"]})

    assert operation.template == "/repos/{owner}/{repo}/issues"
    assert operation.path_params == {"owner": "acme", "repo": "app"}
    assert operation.operation_id == "issues/create"


def test_creating_an_issue_without_a_title_is_a_violation(github: OpenApiSpec) -> None:
    with pytest.raises(SpecViolation) as caught:
        github.validate_request("POST", ISSUES, None, {"body": "no title"})

    assert caught.value.problems == ["body/title: 'title' is a required property"]
    assert "POST /repos/acme/app/issues (operation POST /repos/{owner}/{repo}/issues)" in str(caught.value)


def test_nullable_fields_accept_null(github: OpenApiSpec) -> None:
    # milestone is `oneOf [string, integer]` with `nullable: true` in OpenAPI 3.0
    github.validate_request("POST", ISSUES, json_body={"title": "Bug", "milestone": None, "assignee": None})
    assert _problems(github, "POST", ISSUES, json_body={"title": "Bug", "milestone": [1]}) == [
        "body/milestone: [1] is not valid under any of the given schemas"
    ]


def test_the_request_body_is_required(github: OpenApiSpec) -> None:
    assert _problems(github, "POST", ISSUES) == ["the request body is required"]


def test_wrong_types_deep_in_the_body(github: OpenApiSpec) -> None:
    assert _problems(github, "POST", ISSUES, json_body={"title": "x", "labels": "bug"}) == [
        "body/labels: 'bug' is not of type 'array'"
    ]


def test_unknown_path_suggests_the_closest(github: OpenApiSpec) -> None:
    (problem,) = _problems(github, "POST", "/repos/acme/app/issue", json_body={"title": "x"})

    assert problem.startswith("no path of GitHub v3 REST API matches /repos/acme/app/issue")
    assert "closest: /repos/{owner}/{repo}/issues" in problem


def test_unknown_method_lists_the_allowed_ones(github: OpenApiSpec) -> None:
    assert _problems(github, "DELETE", ISSUES) == [
        "/repos/{owner}/{repo}/issues has no DELETE operation (it has GET, POST)"
    ]


def test_query_parameters_are_checked(github: OpenApiSpec) -> None:
    github.validate_request("GET", ISSUES, {"state": "closed", "per_page": 50, "labels": "bug,ui"})
    github.validate_request("GET", ISSUES + "?state=all&page=2")

    assert _problems(github, "GET", ISSUES, {"state": "merged", "page": "two", "colour": "red"}) == [
        "query parameter 'state': 'merged' is not one of ['open', 'closed', 'all']",
        "query parameter 'page': 'two' is not of type 'integer'",
        "query parameter 'colour' is not in the description",
    ]
    github.validate_request("GET", ISSUES, {"colour": "red"}, strict_query=False)


def test_path_parameters_are_checked(github: OpenApiSpec) -> None:
    assert _problems(github, "PUT", "/repos/acme/app/pulls/abc/merge", json_body={}) == [
        "path parameter 'pull_number': 'abc' is not of type 'integer'"
    ]
    github.validate_request("PUT", "/repos/acme/app/pulls/12/merge", json_body={"merge_method": "squash"})


def test_refs_to_components_are_resolved(github: OpenApiSpec) -> None:
    # POST /repos/{owner}/{repo}/hooks: `config` refers to #/components/schemas/webhook-config-*
    hook = {
        "name": "web",
        "events": ["push"],
        "config": {"url": "https://hub.test/wh", "content_type": "json"},
    }
    github.validate_request("POST", "/repos/acme/app/hooks", json_body=hook)
    bad = {**hook, "config": {**hook["config"], "insecure_ssl": {"no": 1}}}
    (problem,) = _problems(github, "POST", "/repos/acme/app/hooks", json_body=bad)
    assert problem.startswith("body/config/insecure_ssl:")


def test_a_get_with_a_body_is_a_violation(github: OpenApiSpec) -> None:
    assert _problems(github, "GET", "/user", json_body={"x": 1}) == ["the operation takes no request body"]


def test_validators_are_built_once_per_operation(github: OpenApiSpec) -> None:
    github.validate_request("POST", ISSUES, json_body={"title": "a"})
    plans = len(github._plans)
    github.validate_request("POST", "/repos/other/repo/issues", json_body={"title": "b"})
    assert len(github._plans) == plans


# -- dialect rules, on small descriptions --
def _spec(
    version: str, paths: dict[str, Any], components: dict[str, Any] | None = None, **top: Any
) -> OpenApiSpec:
    key = "swagger" if version.startswith("2") else "openapi"
    document: dict[str, Any] = {key: version, "info": {"title": "T"}, "paths": paths, **top}
    if components is not None:
        document["components" if key == "openapi" else "definitions"] = components
    return OpenApiSpec(document)


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"post": {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}}


def test_nullable_on_a_ref_and_an_enum() -> None:
    spec = _spec(
        "3.0.3",
        {
            "/x": _json_body(
                {
                    "type": "object",
                    "properties": {
                        "owner": {"allOf": [{"$ref": "#/components/schemas/user"}], "nullable": True},
                        "state": {"type": "string", "enum": ["a", "b"], "nullable": True},
                    },
                }
            )
        },
        {"schemas": {"user": {"type": "object", "required": ["login"]}}},
    )

    spec.validate_request("POST", "/x", json_body={"owner": None, "state": None})
    spec.validate_request("POST", "/x", json_body={"owner": {"login": "a"}, "state": "b"})
    assert _problems(spec, "POST", "/x", json_body={"owner": {}}) == [
        "body/owner: {} is not valid under any of the given schemas"
    ]


def test_recursive_schemas_work() -> None:
    spec = _spec(
        "3.0.3",
        {"/tree": _json_body({"$ref": "#/components/schemas/node"})},
        {
            "schemas": {
                "node": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "children": {"type": "array", "items": {"$ref": "#/components/schemas/node"}}
                    },
                }
            }
        },
    )

    spec.validate_request(
        "POST", "/tree", json_body={"name": "a", "children": [{"name": "b", "children": []}]}
    )
    assert _problems(spec, "POST", "/tree", json_body={"name": "a", "children": [{"children": []}]}) == [
        "body/children/0/name: 'name' is a required property"
    ]


def test_read_only_properties_are_not_required_in_requests() -> None:
    schema = {
        "type": "object",
        "required": ["id", "name"],
        "properties": {"id": {"type": "integer", "readOnly": True}, "name": {"type": "string"}},
    }
    spec = _spec("3.0.3", {"/x": _json_body(schema)})

    spec.validate_request("POST", "/x", json_body={"name": "n"})


def test_draft4_exclusive_bounds() -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 0, "exclusiveMinimum": True}},
    }
    spec = _spec("3.0.3", {"/x": _json_body(schema)})

    spec.validate_request("POST", "/x", json_body={"n": 1})
    assert _problems(spec, "POST", "/x", json_body={"n": 0}) == [
        "body/n: 0 is less than or equal to the minimum of 0"
    ]


def test_openapi_31_type_arrays_and_ref_siblings() -> None:
    spec = _spec(
        "3.1.0",
        {"/x": _json_body({"$ref": "#/components/schemas/item", "required": ["tag"]})},
        {"schemas": {"item": {"type": "object", "properties": {"tag": {"type": ["string", "null"]}}}}},
    )

    spec.validate_request("POST", "/x", json_body={"tag": None})
    assert _problems(spec, "POST", "/x", json_body={}) == ["body/tag: 'tag' is a required property"]


def test_server_path_prefix_may_be_included() -> None:
    spec = _spec("3.1.0", {"/models": {"get": {}}}, servers=[{"url": "https://api.example.test/v1"}])

    assert spec.validate_request("GET", "/models").template == "/models"
    assert spec.validate_request("GET", "/v1/models").template == "/models"


def test_literal_path_segments_win_over_templates() -> None:
    spec = _spec("3.0.3", {"/incidents/{id}": {"get": {}}, "/incidents/unresolved": {"get": {}}})

    assert spec.find_operation("GET", "/incidents/unresolved").template == "/incidents/unresolved"
    assert spec.find_operation("GET", "/incidents/i1").path_params == {"id": "i1"}


def test_required_header_parameters_when_headers_are_given() -> None:
    params = [{"name": "anthropic-version", "in": "header", "required": True, "schema": {"type": "string"}}]
    spec = _spec("3.1.0", {"/v1/messages": {"post": {"parameters": params}}})

    spec.validate_request("POST", "/v1/messages")  # headers not given: not checked
    spec.validate_request("POST", "/v1/messages", headers={"Anthropic-Version": "2023-06-01"})
    assert _problems(spec, "POST", "/v1/messages", headers={}) == [
        "required header parameter 'anthropic-version' is missing"
    ]


def test_swagger_2_body_and_form_parameters() -> None:
    spec = _spec(
        "2.0",
        {
            "/items": {
                "post": {
                    "parameters": [
                        {
                            "name": "body",
                            "in": "body",
                            "required": True,
                            "schema": {"$ref": "#/definitions/item"},
                        }
                    ]
                }
            },
            "/chat.postMessage": {
                "post": {
                    "parameters": [
                        {"name": "channel", "in": "formData", "required": True, "type": "string"},
                        {"name": "as_user", "in": "formData", "type": "boolean"},
                    ]
                }
            },
        },
        {
            "item": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string", "x-nullable": True}},
            }
        },
        basePath="/api",
    )

    spec.validate_request("POST", "/items", json_body={"name": None})
    assert _problems(spec, "POST", "/items", json_body={}) == ["body/name: 'name' is a required property"]
    spec.validate_request("POST", "/api/chat.postMessage", json_body={"channel": "C1"})
    assert _problems(spec, "POST", "/chat.postMessage", json_body={"as_user": True}) == [
        "body/channel: 'channel' is a required property"
    ]
    # Form-encoded, every field is text: a declared boolean is read from "true"/"false" (and
    # JSON bodies keep their own types).
    form = {"content-type": "application/x-www-form-urlencoded"}
    spec.validate_request(
        "POST", "/chat.postMessage", json_body={"channel": "C1", "as_user": "true"}, headers=form
    )
    assert _problems(
        spec, "POST", "/chat.postMessage", json_body={"channel": "C1", "as_user": "yes"}, headers=form
    ) == ["body/as_user: 'yes' is not of type 'boolean'"]
    assert _problems(spec, "POST", "/chat.postMessage", json_body={"channel": "C1", "as_user": "true"}) == [
        "body/as_user: 'true' is not of type 'boolean'"
    ]


def test_unusable_descriptions_are_spec_errors() -> None:
    with pytest.raises(SpecError, match=r"not an OpenAPI 3\.x or Swagger 2\.0"):
        OpenApiSpec({"asyncapi": "2.0.0"})
    external = _spec("3.0.3", {"/x": _json_body({"$ref": "other.json#/components/schemas/a"})})
    with pytest.raises(SpecError, match="external \\$ref"):
        external.validate_request("POST", "/x", json_body={})
    dangling = _spec("3.0.3", {"/x": _json_body({"$ref": "#/components/schemas/missing"})}, {"schemas": {}})
    with pytest.raises(SpecError, match="does not resolve"):
        dangling.validate_request("POST", "/x", json_body={})
