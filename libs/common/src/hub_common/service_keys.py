"""Service identity keys: each service signs with its own Ed25519 key; receivers hold public keys.

Formats an operator can put in an environment variable or a file (ADR 0010):

* a private key: the 32-byte raw Ed25519 seed in base64 (standard or URL-safe, padding
  optional), or a PKCS#8 PEM (``openssl genpkey -algorithm ed25519``);
* public keys: ``id=<base64 raw 32-byte key>,id=<...>``; an id may appear twice while its key
  rotates (both keys verify until the old one is removed).

``SERVICE_CALLERS`` is who calls whom in this repository; it decides which public keys the local
stack (``hubctl up``) and the tests hand to each receiver, so each receiver trusts only its callers.
``ServiceKeySet`` holds one private key per service: generated once into a directory (the local
stack's ``.stack/keys``), or in memory (tests).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub_common.errors import ConfigurationError

# receiver -> the services that call it. A service absent from every tuple never calls anyone
# (the vault), so it needs no private key.
SERVICE_CALLERS: Mapping[str, tuple[str, ...]] = {
    "vault": ("oauth", "connectors", "gateway", "webhooks", "hubctl"),
    "oauth": ("gateway", "connectors", "webhooks"),
    "connectors": ("gateway", "webhooks", "oauth"),
    "gateway": ("connectors", "webhooks", "oauth"),
    # connectors: its UI lists and creates a connection's registrations for a tenant (ADR 0029)
    "webhooks": ("connectors",),
}
SERVICE_IDS = ("vault", "oauth", "connectors", "gateway", "webhooks", "hubctl")
MAX_KEYS_PER_SERVICE = 2  # the current key and, during a rotation, the next (or the previous) one


def calls_others(service_id: str) -> bool:
    return any(service_id in callers for callers in SERVICE_CALLERS.values())


def _b64decode(text: str) -> bytes:
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)


def encode_private_key(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def encode_public_key(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def load_private_key(text: str, *, origin: str = "HUB_SERVICE_PRIVATE_KEY") -> Ed25519PrivateKey:
    """An Ed25519 private key from a base64 raw seed or a PKCS#8 PEM; ConfigurationError else
    (the message never repeats the value)."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ConfigurationError(f"{origin}: the PEM key is not an Ed25519 key")
            return key
        raw = _b64decode(text)
    except (ValueError, TypeError, binascii.Error):
        raise ConfigurationError(f"{origin}: not a base64 Ed25519 seed or a PKCS#8 PEM") from None
    if len(raw) != 32:
        raise ConfigurationError(f"{origin}: an Ed25519 seed has 32 bytes, this one {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def load_public_key(text: str, *, origin: str) -> Ed25519PublicKey:
    try:
        raw = _b64decode(text)
    except (ValueError, binascii.Error):
        raise ConfigurationError(f"{origin}: not base64") from None
    if len(raw) != 32:
        raise ConfigurationError(f"{origin}: an Ed25519 public key has 32 bytes, this one {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def parse_public_keys(text: str) -> dict[str, tuple[Ed25519PublicKey, ...]]:
    """``id=<key>,id=<key>`` → id → its keys (at most MAX_KEYS_PER_SERVICE each)."""
    keys: dict[str, list[Ed25519PublicKey]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        service_id, sep, encoded = item.partition("=")
        service_id = service_id.strip()
        if not sep or not service_id or not encoded.strip():
            raise ConfigurationError(f"HUB_SERVICE_PUBLIC_KEYS: expected id=<base64 key>, got {service_id!r}")
        found = keys.setdefault(service_id, [])
        found.append(load_public_key(encoded, origin=f"HUB_SERVICE_PUBLIC_KEYS[{service_id}]"))
        if len(found) > MAX_KEYS_PER_SERVICE:
            raise ConfigurationError(
                f"HUB_SERVICE_PUBLIC_KEYS: {service_id!r} has more than {MAX_KEYS_PER_SERVICE} keys"
            )
    return {service_id: tuple(found) for service_id, found in keys.items()}


def format_public_keys(entries: Iterable[tuple[str, Ed25519PublicKey]]) -> str:
    return ",".join(f"{service_id}={encode_public_key(key)}" for service_id, key in entries)


@dataclass(frozen=True)
class ServiceKeySet:
    """One private key per service, and what each service is handed: its own private key and
    the public keys of the services allowed to call it (SERVICE_CALLERS)."""

    private_keys: Mapping[str, Ed25519PrivateKey]
    directory: Path | None = None

    @classmethod
    def generate(cls, services: Iterable[str] = SERVICE_IDS) -> ServiceKeySet:
        return cls({s: Ed25519PrivateKey.generate() for s in services})

    @classmethod
    def load_or_create(cls, directory: Path, services: Iterable[str] = SERVICE_IDS) -> ServiceKeySet:
        """``<directory>/<service>.key`` (base64 seed, mode 0600), created once for each service
        that has none; the existing ones are kept (idempotent)."""
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        keys: dict[str, Ed25519PrivateKey] = {}
        for service in services:
            path = directory / f"{service}.key"
            if not path.exists():
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as out:
                    out.write(encode_private_key(Ed25519PrivateKey.generate()) + "\n")
            keys[service] = load_private_key(path.read_text(), origin=str(path))
        return cls(keys, directory)

    def private_key(self, service_id: str) -> Ed25519PrivateKey:
        return self.private_keys[service_id]

    def public_keys_for(self, receiver: str) -> str:
        """HUB_SERVICE_PUBLIC_KEYS for ``receiver``: its callers' keys, nobody else's."""
        callers = SERVICE_CALLERS.get(receiver, ())
        return format_public_keys(
            (c, self.private_keys[c].public_key()) for c in callers if c in self.private_keys
        )

    def env_for(self, service_id: str) -> dict[str, str]:
        """The HUB_SERVICE_* variables to start ``service_id`` with: its own key (as a file path
        when the keys live in a directory) and its callers' public keys."""
        env = {"HUB_SERVICE_PUBLIC_KEYS": self.public_keys_for(service_id)}
        if self.directory is not None:
            env["HUB_SERVICE_PRIVATE_KEY_FILE"] = str(self.directory / f"{service_id}.key")
        else:
            env["HUB_SERVICE_PRIVATE_KEY"] = encode_private_key(self.private_keys[service_id])
        return env
