import base64
import json

import pytest

from hub_vault.domain.keyring import (
    KeyringError,
    dump_keyring_json,
    dump_keyring_toml,
    new_keyring,
    parse_keyring,
)

pytestmark = pytest.mark.unit


def _material(byte: int = 1) -> str:
    return base64.b64encode(bytes([byte]) * 32).decode()


def test_json_toml_and_base64_forms_parse_to_the_same_keyring():
    keyring = new_keyring().rotated()
    as_json = dump_keyring_json(keyring)
    as_toml = dump_keyring_toml(keyring)
    for text in (
        as_json,
        as_toml,
        base64.b64encode(as_json.encode()).decode(),
        base64.b64encode(as_toml.encode()).decode(),
    ):
        parsed = parse_keyring(text)
        assert parsed == keyring
        assert parsed.primary_version == 2


def test_rotation_adds_a_new_primary_and_keeps_old_versions():
    keyring = new_keyring()
    rotated = keyring.rotated()
    assert sorted(rotated.versions) == [1, 2]
    assert rotated.primary_version == 2
    assert rotated.versions[1] == keyring.versions[1]
    assert rotated.primary.material != keyring.primary.material


def test_primary_must_name_a_listed_version():
    doc = {"primary": 3, "keys": [{"version": 1, "material": _material()}]}
    with pytest.raises(KeyringError, match="primary version 3"):
        parse_keyring(json.dumps(doc))


@pytest.mark.parametrize(
    "doc, message",
    [
        ({"keys": [{"version": 1, "material": _material()}]}, "primary"),
        ({"primary": 1, "keys": []}, "non-empty"),
        (
            {"primary": 1, "keys": [{"version": 1, "material": base64.b64encode(b"short").decode()}]},
            "32 bytes",
        ),
        ({"primary": 1, "keys": [{"version": 1, "material": "not base64!"}]}, "base64"),
        (
            {
                "primary": 1,
                "keys": [{"version": 1, "material": _material()}, {"version": 1, "material": _material(2)}],
            },
            "twice",
        ),
        ({"primary": True, "keys": [{"version": 1, "material": _material()}]}, "primary"),
        ({"format": "other/v9", "primary": 1, "keys": [{"version": 1, "material": _material()}]}, "format"),
    ],
)
def test_invalid_keyrings_are_refused_without_echoing_material(doc, message):
    with pytest.raises(KeyringError, match=message) as err:
        parse_keyring(json.dumps(doc))
    for key in doc.get("keys", []):
        assert key["material"] not in str(err.value)


def test_material_never_appears_in_repr():
    keyring = new_keyring()
    material = base64.b64encode(keyring.primary.material).decode()
    assert material not in repr(keyring)
    assert keyring.primary.material.hex() not in repr(keyring.primary)


def test_key_check_is_stable_and_distinct_per_key():
    a, b = new_keyring(), new_keyring()
    assert a.primary.key_check == parse_keyring(dump_keyring_json(a)).primary.key_check
    assert a.primary.key_check != b.primary.key_check


def test_the_primary_cannot_be_removed():
    keyring = new_keyring().rotated()
    assert sorted(keyring.without(1).versions) == [2]
    with pytest.raises(KeyringError):
        keyring.without(2)


def test_garbage_is_refused():
    for text in ("", "hello", "{not json", "[[keys]]\nversion = "):
        with pytest.raises(KeyringError):
            parse_keyring(text)
