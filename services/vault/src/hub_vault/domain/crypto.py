"""Envelope encryption with AES-256-GCM (decision and numbers: docs/adr/0003-vault-encryption.md).

Each value gets its own random data key (DEK). The value is encrypted under the DEK; the DEK is
encrypted ("wrapped") under the keyring's primary KEK. Both use a random 96-bit nonce and
associated data naming the owner, so a ciphertext copied onto another row does not decrypt:

* value AAD: ``value`` + tenant + connection id + credential key
* DEK AAD:   ``dek``   + tenant + connection id + credential key + KEK version

Rotation only rewraps the 32-byte DEK; the value ciphertext never changes.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub_vault.domain.keyring import KEY_BYTES, KeyVersion
from hub_vault.domain.names import Owner

NONCE_BYTES = 12
_AAD_LABEL = b"hub-vault/v1"


class IntegrityError(Exception):
    """Authentication failed. Deliberately says nothing about which part or why."""


@dataclass(frozen=True, slots=True)
class Sealed:
    value_encrypted: bytes
    value_iv: bytes
    dek_encrypted: bytes
    dek_iv: bytes
    key_version: int


def _field(data: bytes) -> bytes:
    # Length-prefixed, so ("ab", "c") and ("a", "bc") never produce the same AAD.
    return struct.pack(">I", len(data)) + data


def value_aad(owner: Owner) -> bytes:
    return b"".join(
        (
            _AAD_LABEL,
            _field(b"value"),
            _field(owner.tenant_id.encode()),
            _field(owner.connection_id.bytes),
            _field(owner.credential_key.encode()),
        )
    )


def dek_aad(owner: Owner, key_version: int) -> bytes:
    return b"".join(
        (
            _AAD_LABEL,
            _field(b"dek"),
            _field(owner.tenant_id.encode()),
            _field(owner.connection_id.bytes),
            _field(owner.credential_key.encode()),
            _field(struct.pack(">I", key_version)),
        )
    )


class KekCipher:
    """An AESGCM instance per KEK version, built once (the key schedule is not free)."""

    __slots__ = ("_aead", "version")

    def __init__(self, kek: KeyVersion) -> None:
        self.version = kek.version
        self._aead = AESGCM(kek.material)

    def wrap(self, dek: bytes, owner: Owner) -> tuple[bytes, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        return self._aead.encrypt(nonce, dek, dek_aad(owner, self.version)), nonce

    def unwrap(self, dek_encrypted: bytes, dek_iv: bytes, owner: Owner) -> bytes:
        try:
            dek = self._aead.decrypt(dek_iv, dek_encrypted, dek_aad(owner, self.version))
        except (InvalidTag, ValueError):
            raise IntegrityError from None
        if len(dek) != KEY_BYTES:
            raise IntegrityError
        return dek


def seal(kek: KekCipher, owner: Owner, plaintext: bytes) -> Sealed:
    dek = AESGCM.generate_key(bit_length=256)
    value_iv = os.urandom(NONCE_BYTES)
    value_encrypted = AESGCM(dek).encrypt(value_iv, plaintext, value_aad(owner))
    dek_encrypted, dek_iv = kek.wrap(dek, owner)
    return Sealed(value_encrypted, value_iv, dek_encrypted, dek_iv, kek.version)


def open_sealed(kek: KekCipher, owner: Owner, sealed: Sealed) -> bytes:
    if sealed.key_version != kek.version:
        raise IntegrityError
    dek = kek.unwrap(sealed.dek_encrypted, sealed.dek_iv, owner)
    try:
        return AESGCM(dek).decrypt(sealed.value_iv, sealed.value_encrypted, value_aad(owner))
    except (InvalidTag, ValueError):
        raise IntegrityError from None


def rewrap(old: KekCipher, new: KekCipher, owner: Owner, sealed: Sealed) -> Sealed:
    """Move the DEK from ``old`` to ``new``; the value ciphertext is untouched."""
    if sealed.key_version != old.version:
        raise IntegrityError
    dek = old.unwrap(sealed.dek_encrypted, sealed.dek_iv, owner)
    dek_encrypted, dek_iv = new.wrap(dek, owner)
    return Sealed(sealed.value_encrypted, sealed.value_iv, dek_encrypted, dek_iv, new.version)
