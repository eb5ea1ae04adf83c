from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub_gateway.domain.transforms import (
    MessageTransform,
    TransformSpec,
    TransformTooExpensive,
    apply_body,
    apply_headers,
    apply_path,
)

pytestmark = pytest.mark.unit


def spec(**route) -> TransformSpec:
    return TransformSpec.model_validate({"routes": [route]})


def test_matching_first_route_wins():
    s = TransformSpec.model_validate(
        {
            "routes": [
                {
                    "match": {"methods": ["get"], "path": "/repos/*/issues"},
                    "request": {"set_headers": {"X-A": "1"}},
                },
                {"match": {"path": "/*"}, "request": {"set_headers": {"X-B": "1"}}},
            ]
        }
    )
    assert s.route_for("GET", "/repos/o/issues").request.set_headers == {"x-a": "1"}
    assert s.route_for("POST", "/repos/o/issues").request.set_headers == {"x-b": "1"}


def test_headers_set_and_remove():
    t = spec(request={"set_headers": {"X-Team": "blue"}, "remove_headers": ["X-Debug"]}).routes[0].request
    assert apply_headers(t, [("x-debug", "1"), ("x-team", "red"), ("accept", "a")]) == [
        ("accept", "a"),
        ("x-team", "blue"),
    ]


def test_body_rename_and_drop_nested_and_in_lists():
    t = (
        spec(
            response={
                "rename_fields": {"items.login": "user", "meta.total": "count"},
                "drop_fields": ["items.secret", "debug"],
            }
        )
        .routes[0]
        .response
    )
    doc = {"items": [{"login": "a", "secret": 1}, {"login": "b"}], "meta": {"total": 2}, "debug": True}
    assert apply_body(t, doc) == {"items": [{"user": "a"}, {"user": "b"}], "meta": {"count": 2}}
    assert apply_body(t, [1, "x"]) == [1, "x"]  # nothing to do on scalars


def test_path_rewrite():
    route = spec(rewrite_path={"from_prefix": "/v1/", "to_prefix": "/api/v2/"}).routes[0]
    assert apply_path(route, "/v1/items") == "/api/v2/items"
    assert apply_path(route, "/v3/items") == "/v3/items"


@pytest.mark.parametrize(
    "route",
    [
        {"request": {"set_headers": {"Authorization": "x"}}},
        {"request": {"remove_headers": ["x-api-key"]}},
        {"request": {"set_headers": {"X-Hub-Tenant": "other"}}},
        {"request": {"set_headers": {"X-A": "a\r\nInjected: 1"}}},
        {"request": {"set_headers": {"X-A": "trailing line feed\n"}}},
        {"request": {"set_headers": {"X-A": "blue\u2014green"}}},  # not ISO-8859-1
        {"request": {"set_headers": {"X-A": "bell\x07"}}},
        {"request": {"set_headers": {"bad header": "a"}}},
        {"request": {"rename_fields": {"a": "b.c"}}},
        {"request": {"drop_fields": [".a"]}},
        {"rewrite_path": {"from_prefix": "v1", "to_prefix": "/v2"}},
        {"rewrite_path": {"from_prefix": "/v1", "to_prefix": "//evil"}},
        {"match": {"path": "no-slash"}, "request": {"drop_fields": ["a"]}},
        {"match": {"methods": ["CONNECT"]}, "request": {"drop_fields": ["a"]}},
        {},
        {"request": {"unknown": 1}},
    ],
)
def test_invalid(route):
    with pytest.raises(ValidationError):
        spec(**route)


def test_too_many_routes():
    with pytest.raises(ValidationError):
        TransformSpec.model_validate({"routes": [{"request": {"drop_fields": ["a"]}}] * 51})


def test_a_body_too_costly_to_transform_raises_and_deep_nesting_is_no_crash():
    t = MessageTransform(
        rename_fields={f"f{i}": f"g{i}" for i in range(100)}, drop_fields=[f"d{i}" for i in range(100)]
    )
    with pytest.raises(TransformTooExpensive):
        apply_body(t, [{} for _ in range(250_000)])
    deep: list = []
    node = deep
    for _ in range(5000):  # far past Python's recursion limit
        node.append([])
        node = node[0]
    node.append({"f0": 1})
    apply_body(MessageTransform(rename_fields={"f0": "g0"}), deep)
    assert node == [{"g0": 1}]


def test_a_missing_transform_is_its_own_error():
    """Not a ConnectionNotFound with another code: callers and the OpenAPI document tell the
    two 404s apart by class and code (docs/adr/0028)."""
    from hub_gateway.domain.errors import ConnectionNotFound, TransformNotFound

    err = TransformNotFound()
    assert (err.status_code, err.code) == (404, "transform_not_found")
    assert not isinstance(err, ConnectionNotFound)
