from dataclasses import replace
from uuid import uuid4

import pytest

from hub_vault.domain.crypto import IntegrityError, KekCipher, open_sealed, rewrap, seal
from hub_vault.domain.keyring import new_keyring
from hub_vault.domain.names import Owner

pytestmark = pytest.mark.unit


@pytest.fixture
def keyring():
    return new_keyring().rotated()


@pytest.fixture
def owner():
    return Owner("tenant-a", uuid4(), "access_token")


def test_round_trip(keyring, owner):
    kek = KekCipher(keyring.primary)
    sealed = seal(kek, owner, b"gho_secret")
    assert sealed.key_version == 2
    assert len(sealed.value_iv) == 12 and len(sealed.dek_iv) == 12
    assert b"gho_secret" not in sealed.value_encrypted
    assert open_sealed(kek, owner, sealed) == b"gho_secret"


def test_nonces_and_deks_are_fresh_per_value(keyring, owner):
    kek = KekCipher(keyring.primary)
    a, b = seal(kek, owner, b"same"), seal(kek, owner, b"same")
    assert a.value_iv != b.value_iv and a.dek_iv != b.dek_iv
    assert a.value_encrypted != b.value_encrypted


@pytest.mark.parametrize(
    "other",
    [
        lambda o: Owner("tenant-b", o.connection_id, o.credential_key),
        lambda o: Owner(o.tenant_id, uuid4(), o.credential_key),
        lambda o: Owner(o.tenant_id, o.connection_id, "refresh_token"),
    ],
)
def test_ciphertext_bound_to_its_owner(keyring, owner, other):
    kek = KekCipher(keyring.primary)
    sealed = seal(kek, owner, b"value")
    with pytest.raises(IntegrityError):
        open_sealed(kek, other(owner), sealed)


@pytest.mark.parametrize("column", ["value_encrypted", "value_iv", "dek_encrypted", "dek_iv"])
def test_flipping_any_byte_fails(keyring, owner, column):
    kek = KekCipher(keyring.primary)
    sealed = seal(kek, owner, b"value")
    for index in range(len(getattr(sealed, column))):  # every byte of the column
        data = bytearray(getattr(sealed, column))
        data[index] ^= 0x01
        with pytest.raises(IntegrityError):
            open_sealed(kek, owner, replace(sealed, **{column: bytes(data)}))


def test_key_version_is_bound_too(keyring, owner):
    old, new = KekCipher(keyring.versions[1]), KekCipher(keyring.versions[2])
    sealed = seal(old, owner, b"value")
    with pytest.raises(IntegrityError):
        open_sealed(new, owner, replace(sealed, key_version=2))


def test_rewrap_moves_only_the_dek(keyring, owner):
    old, new = KekCipher(keyring.versions[1]), KekCipher(keyring.versions[2])
    sealed = seal(old, owner, b"value")
    moved = rewrap(old, new, owner, sealed)
    assert moved.key_version == 2
    assert moved.value_encrypted == sealed.value_encrypted and moved.value_iv == sealed.value_iv
    assert moved.dek_encrypted != sealed.dek_encrypted
    assert open_sealed(new, owner, moved) == b"value"
    with pytest.raises(IntegrityError):
        open_sealed(old, owner, moved)


def test_integrity_error_says_nothing(keyring, owner):
    kek = KekCipher(keyring.primary)
    sealed = seal(kek, owner, b"value")
    with pytest.raises(IntegrityError) as err:
        open_sealed(kek, owner, replace(sealed, value_iv=b"\x00" * 12))
    assert str(err.value) == ""
