"""Settings of the vault service (``HUB_*`` environment variables)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from hub_common.settings import HubSettings
from hub_vault.domain.names import MAX_VALUE_BYTES

SCHEMA = "vault"
NEEDS = ("postgres", "kafka")


class VaultSettings(HubSettings):
    service_name: str = "vault"
    port: int = 8084
    # Every request is one statement on a pool connection; keeping a few open avoids paying for
    # connects (and asyncpg's per-connection type introspection) during the first burst.
    postgres_pool_min: int = 4
    # Publishing credential.changed on the serving loop was most of the write tail (ADR 0008).
    outbox_relay: Literal["inline", "process"] = "process"

    # The keyring (KEKs) never lives in the database. HUB_VAULT_KEYRING wins over the file.
    vault_keyring: SecretStr | None = None
    vault_keyring_file: Path | None = None
    vault_keyring_reload_s: float = Field(default=1.0, gt=0)
    # Dev/test only, when neither of the above is set: created on first start (mode 0600).
    vault_dev_keyring_path: Path = Path(".stack/vault/keyring.json")

    vault_policy_file: Path | None = None
    # Raw request bodies are refused above this before any parsing. A 64 KiB value can grow to
    # 6x in JSON: each control character must be written \u00XX, hence the headroom.
    vault_max_body_bytes: int = Field(default=6 * MAX_VALUE_BYTES + 8192, gt=MAX_VALUE_BYTES)
    # HMAC routes carry whole webhook payloads (base64 in JSON: 4/3 of the raw size).
    vault_max_hmac_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    # One outbox NOTIFY per window at most (adapters/outbox_notify.py): events may wait this long.
    # 50 ms, not 10: each wake is a relay round, and at 500 writes/s 10 ms windows cost the relay
    # 2.4x the CPU, which the write tail pays for on two cores (bench/vault_bench.py).
    vault_outbox_notify_window_s: float = Field(default=0.05, ge=0, le=0.5)
    vault_rewrap_batch_size: int = Field(default=200, ge=1, le=10_000)
