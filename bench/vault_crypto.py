"""Raw AES-256-GCM cost per operation: envelope (per-value DEK wrapped by the KEK, what the vault
does) versus direct KEK encryption (the alternative in docs/adr/0003-vault-encryption.md).

    uv run python bench/vault_crypto.py        # prints a table; vault_bench.py reuses measure()
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub_vault.domain.crypto import KekCipher, open_sealed, rewrap, seal, value_aad
from hub_vault.domain.keyring import new_keyring
from hub_vault.domain.names import Owner

SIZES = (64, 1024, 64 * 1024)


def _per_op_us(fn: Callable[[], object], min_time_s: float = 0.3) -> float:
    n, elapsed = 0, 0.0
    batch = 100
    start = time.perf_counter()
    while elapsed < min_time_s:
        for _ in range(batch):
            fn()
        n += batch
        elapsed = time.perf_counter() - start
    return elapsed / n * 1e6


def _measure_size(size: int, min_time_s: float) -> dict[str, float]:
    keyring = new_keyring().rotated()
    old, new = KekCipher(keyring.versions[1]), KekCipher(keyring.versions[2])
    direct = AESGCM(keyring.primary.material)
    owner = Owner("tenant-bench", uuid.uuid4(), "access_token")
    aad = value_aad(owner)
    value = os.urandom(size)
    sealed = seal(new, owner, value)
    sealed_old = seal(old, owner, value)
    nonce = os.urandom(12)
    direct_ct = direct.encrypt(nonce, value, aad)
    return {
        "envelope_encrypt_us": _per_op_us(lambda: seal(new, owner, value), min_time_s),
        "envelope_decrypt_us": _per_op_us(lambda: open_sealed(new, owner, sealed), min_time_s),
        "envelope_rewrap_us": _per_op_us(lambda: rewrap(old, new, owner, sealed_old), min_time_s),
        "direct_encrypt_us": _per_op_us(lambda: direct.encrypt(os.urandom(12), value, aad), min_time_s),
        "direct_decrypt_us": _per_op_us(lambda: direct.decrypt(nonce, direct_ct, aad), min_time_s),
        # Direct rewrap = decrypt under the old KEK + encrypt the whole value under the new one.
        "direct_rewrap_us": _per_op_us(
            lambda: direct.encrypt(os.urandom(12), direct.decrypt(nonce, direct_ct, aad), aad), min_time_s
        ),
    }


def measure(min_time_s: float = 0.3) -> dict[str, dict[str, float]]:
    """Microseconds per operation, by value size and scheme."""
    return {f"{size}B": _measure_size(size, min_time_s) for size in SIZES}


def main() -> None:
    results = measure()
    columns = ["encrypt", "decrypt", "rewrap"]
    print(f"{'size':>8} | " + " | ".join(f"{'env ' + c:>12} | {'direct ' + c:>14}" for c in columns))
    for size, row in results.items():
        cells = " | ".join(
            f"{row[f'envelope_{c}_us']:>10.2f}us | {row[f'direct_{c}_us']:>12.2f}us" for c in columns
        )
        print(f"{size:>8} | {cells}")


if __name__ == "__main__":
    main()
