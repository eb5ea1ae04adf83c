"""What a connection's config may not hold: secrets (at any depth, in any spelling) and NUL."""

import pytest

from hub_connectors.services.connections import inspect_config

pytestmark = pytest.mark.unit


def test_secrets_are_found_at_any_depth_and_in_camel_case():
    config = {
        "region": "eu",
        "clientSecret": "x",
        "auth": {"password": "y", "user": "z"},
        "hooks": [{"url": "https://h"}, {"signing_secret": "s"}],
    }
    secretish, nul = inspect_config(config)
    assert secretish == ["auth.password", "clientSecret", "hooks[1].signing_secret"]
    assert nul == []


def test_nul_characters_are_found_in_keys_and_values():
    _, nul = inspect_config({"a": "x\x00", "b": {"c\x00": 1}, "d": ["ok", "\x00"]})
    assert sorted(nul) == ["a", "b.c\x00", "d[1]"]
    assert inspect_config({"plain": "text", "n": 1, "list": [True, None]}) == ([], [])
