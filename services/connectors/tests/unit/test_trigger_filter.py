import pytest

from hub_connectors.domain.trigger_filter import InvalidFilter, matches, validate

pytestmark = pytest.mark.unit

PAYLOAD = {
    "repository": {"full_name": "acme/app"},
    "issue": {"labels": ["bug"], "number": 7},
    "items": [{"a": 1}],
}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, True),
        ({}, True),
        ({"repository.full_name": "acme/app"}, True),
        ({"repository.full_name": "acme/other"}, False),
        ({"repository.full_name": ["acme/other", "acme/app"]}, True),
        ({"repository.full_name": "acme/app", "issue.number": 8}, False),
        ({"issue.number": 7, "items.0.a": 1}, True),
        ({"issue.missing": None}, False),  # a missing path never matches, not even None
        ({"items.5.a": 1}, False),
    ],
)
def test_filter(spec, expected):
    assert matches(spec, PAYLOAD) is expected


def test_validate_refuses_what_is_not_a_path_map():
    assert validate(None) is None
    assert validate({"a.b": 1}) == {"a.b": 1}
    for bad in (["a"], "a", {"": 1}, {1: 2}):
        with pytest.raises(InvalidFilter):
            validate(bad)
