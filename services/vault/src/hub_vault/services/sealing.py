"""Encrypt/decrypt against the current keyring, mapping crypto failures to API errors."""

from __future__ import annotations

import logging

from hub_vault.adapters.keyring_source import KeyringSource, LoadedKeyring
from hub_vault.domain import crypto
from hub_vault.domain.errors import DecryptionFailed, KeyVersionUnavailable
from hub_vault.domain.names import Owner
from hub_vault.repositories.credentials import StoredCredential

log = logging.getLogger(__name__)


def seal(loaded: LoadedKeyring, owner: Owner, plaintext: bytes) -> crypto.Sealed:
    return crypto.seal(loaded.primary, owner, plaintext)


def open_value(source: KeyringSource, stored: StoredCredential) -> bytes:
    version = stored.sealed.key_version
    cipher = source.current().ciphers.get(version)
    if cipher is None:
        cipher = source.refresh().ciphers.get(version)  # rotated by another replica just now?
        if cipher is None:
            raise KeyVersionUnavailable(version)
    try:
        return crypto.open_sealed(cipher, stored.owner, stored.sealed)
    except crypto.IntegrityError:
        # Ids only: the row, never the bytes.
        log.warning(
            "stored value failed authentication",
            extra={"credential_id": str(stored.id), "key_version": version},
        )
        raise DecryptionFailed from None
