"""Versioned key-encryption keys (KEKs): parsing, validation and serialisation of a keyring.

A keyring is a JSON or TOML document (format in services/vault/README.md)::

    {"primary": 2, "keys": [{"version": 1, "material": "<base64 of 32 bytes>"}, ...]}

``primary`` names exactly one version; every value written uses it, every version listed can
still decrypt. Material never appears in ``repr``, errors or logs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

KEY_BYTES = 32
FORMAT = "hub-vault-keyring/v1"


class KeyringError(ValueError):
    """A keyring that cannot be used; the message never contains key material."""


@dataclass(frozen=True)
class KeyVersion:
    version: int
    material: bytes = field(repr=False)
    created_at: datetime | None = None

    @property
    def key_check(self) -> str:
        """A one-way fingerprint (KCV) stored in the database to detect a swapped keyring."""
        return hmac.new(self.material, b"hub-vault key check v1", hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class Keyring:
    primary_version: int
    versions: dict[int, KeyVersion] = field(repr=False)

    def __post_init__(self) -> None:
        if not self.versions:
            raise KeyringError("keyring has no keys")
        if self.primary_version not in self.versions:
            raise KeyringError(f"primary version {self.primary_version} is not in the keyring")

    @property
    def primary(self) -> KeyVersion:
        return self.versions[self.primary_version]

    def get(self, version: int) -> KeyVersion | None:
        return self.versions.get(version)

    def rotated(self, now: datetime | None = None) -> Keyring:
        """A copy with a fresh random version (highest + 1) as the primary."""
        version = max(self.versions) + 1
        new = generate_key_version(version, now)
        return Keyring(version, {**self.versions, version: new})

    def without(self, version: int) -> Keyring:
        if version == self.primary_version:
            raise KeyringError("the primary version cannot be removed")
        rest = {v: k for v, k in self.versions.items() if v != version}
        return replace(self, versions=rest)


def mismatched_versions(keyring: Keyring, key_checks: Mapping[int, str]) -> list[int]:
    """The versions whose key is not the one ``key_checks`` names (a swapped keyring)."""
    return sorted(
        v for v, key in keyring.versions.items() if v in key_checks and key.key_check != key_checks[v]
    )


def generate_key_version(version: int, now: datetime | None = None) -> KeyVersion:
    return KeyVersion(version, os.urandom(KEY_BYTES), (now or datetime.now(UTC)).replace(microsecond=0))


def new_keyring() -> Keyring:
    return Keyring(1, {1: generate_key_version(1)})


def _decode_material(text: object, version: int) -> bytes:
    if not isinstance(text, str):
        raise KeyringError(f"key version {version}: material must be a base64 string")
    padded = text.strip() + "=" * (-len(text.strip()) % 4)
    try:
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"key version {version}: material is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise KeyringError(f"key version {version}: material must decode to {KEY_BYTES} bytes")
    return raw


def _parse_created(value: object, version: int) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):  # TOML has a native datetime type
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise KeyringError(f"key version {version}: created_at is not ISO 8601") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise KeyringError(f"key version {version}: created_at must be a timestamp")


def keyring_from_mapping(doc: object) -> Keyring:
    if not isinstance(doc, dict):
        raise KeyringError("keyring must be an object with 'primary' and 'keys'")
    fmt = doc.get("format", FORMAT)
    if fmt != FORMAT:
        raise KeyringError(f"unsupported keyring format {fmt!r} (expected {FORMAT})")
    primary = doc.get("primary")
    keys = doc.get("keys")
    if not isinstance(primary, int) or isinstance(primary, bool):
        raise KeyringError("'primary' must be the integer version of exactly one key")
    if not isinstance(keys, list) or not keys:
        raise KeyringError("'keys' must be a non-empty list")
    versions: dict[int, KeyVersion] = {}
    for entry in keys:
        if not isinstance(entry, dict):
            raise KeyringError("each key must be an object with 'version' and 'material'")
        version = entry.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise KeyringError("each key needs a positive integer 'version'")
        if version in versions:
            raise KeyringError(f"key version {version} appears twice")
        material = _decode_material(entry.get("material"), version)
        versions[version] = KeyVersion(version, material, _parse_created(entry.get("created_at"), version))
    return Keyring(primary, versions)


def parse_keyring(text: str) -> Keyring:
    """JSON or TOML, inline or base64-encoded (what HUB_VAULT_KEYRING may hold)."""
    stripped = text.strip()
    if not stripped:
        raise KeyringError("keyring is empty")
    if stripped.startswith("{"):
        try:
            return keyring_from_mapping(json.loads(stripped))
        except json.JSONDecodeError:
            raise KeyringError("keyring is not valid JSON") from None
    if "[[keys]]" in stripped:
        try:
            return keyring_from_mapping(tomllib.loads(stripped))
        except tomllib.TOMLDecodeError:
            raise KeyringError("keyring is not valid TOML") from None
    try:
        decoded = base64.b64decode(stripped + "=" * (-len(stripped) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise KeyringError("keyring is neither JSON, TOML nor base64 of either") from None
    if not decoded.strip().startswith("{") and "[[keys]]" not in decoded:
        raise KeyringError("keyring is neither JSON, TOML nor base64 of either")
    return parse_keyring(decoded)


def keyring_to_mapping(keyring: Keyring) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "primary": keyring.primary_version,
        "keys": [
            {
                "version": k.version,
                "material": base64.b64encode(k.material).decode("ascii"),
                **({"created_at": k.created_at.isoformat()} if k.created_at else {}),
            }
            for k in sorted(keyring.versions.values(), key=lambda k: k.version)
        ],
    }


def dump_keyring_json(keyring: Keyring) -> str:
    return json.dumps(keyring_to_mapping(keyring), indent=2) + "\n"


def dump_keyring_toml(keyring: Keyring) -> str:
    doc = keyring_to_mapping(keyring)
    lines = [f'format = "{doc["format"]}"', f"primary = {doc['primary']}", ""]
    for key in doc["keys"]:
        lines += ["[[keys]]", f"version = {key['version']}", f'material = "{key["material"]}"']
        if "created_at" in key:
            lines.append(f"created_at = {key['created_at']}")
        lines.append("")
    return "\n".join(lines)
