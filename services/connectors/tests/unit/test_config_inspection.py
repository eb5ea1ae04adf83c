"""What a connection's config may not hold: secrets (top level, any spelling) and NUL."""

import pytest

from hub_connectors.services.connections import inspect_config

pytestmark = pytest.mark.unit


def test_top_level_secrets_are_found_however_spelled_nested_keys_are_the_schemas():
    config = {
        "region": "eu",
        "clientSecret": "x",
        "api_token": "y",
        "filters": [{"field": "status", "value": "open"}],
        "sync": {"pageToken": "p"},
    }
    secretish, nul = inspect_config(config)
    assert secretish == ["api_token", "clientSecret"]
    assert nul == []


def test_nul_characters_are_found_in_keys_and_values():
    _, nul = inspect_config({"a": "x\x00", "b": {"c\x00": 1}, "d": ["ok", "\x00"]})
    assert sorted(nul) == ["a", "b.c\x00", "d[1]"]
    assert inspect_config({"plain": "text", "n": 1, "list": [True, None]}) == ([], [])
