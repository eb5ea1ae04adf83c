"""An operator rotates the vault's key with hubctl, rewraps online and retires the old version."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from hub_common.testing.service_keys import service_env, service_minter
from hub_e2e.processes import ServiceProcess
from hub_vault.adapters.keyring_source import write_keyring_file
from hub_vault.domain.keyring import new_keyring

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def vault(hub_stack, module_dsn, tmp_path_factory) -> Iterator[ServiceProcess]:
    keyring = tmp_path_factory.mktemp("keyring") / "keyring.json"
    write_keyring_file(keyring, new_keyring())
    proc = ServiceProcess(
        "vault",
        {
            "HUB_POSTGRES_DSN": module_dsn,
            "HUB_KAFKA_BOOTSTRAP": hub_stack.kafka_bootstrap,
            "HUB_VAULT_KEYRING_FILE": str(keyring),
        },
    )
    proc.migrate()
    proc.start()
    yield proc
    proc.stop()


def hubctl(vault: ServiceProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hubctl.main", "vault", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "HUB_VAULT_URL": vault.url, **service_env("hubctl")},
        timeout=120,
        check=False,
    )


def test_rotate_rewrap_retire(vault):
    oauth = service_minter("oauth")
    for n in range(5):
        resp = httpx.put(
            f"{vault.url}/v1/tenants/t1/connections/00000000-0000-0000-0000-00000000000{n}"
            "/credentials/access_token",
            json={"value": f"secret-{n}"},
            headers=oauth.headers_for("vault"),
        )
        assert resp.status_code in (200, 201), resp.text
    versions = hubctl(vault, "versions")
    assert versions.returncode == 0, versions.stderr
    assert "primary" in versions.stdout and "5" in versions.stdout

    refused = hubctl(vault, "retire", "1")
    assert refused.returncode == 1 and "hubctl: error:" in refused.stderr  # still the primary, still in use

    rotated = hubctl(vault, "rotate")
    assert rotated.returncode == 0 and "key version 2 is now primary" in rotated.stdout, rotated.stderr
    still_used = hubctl(vault, "retire", "1")
    assert still_used.returncode == 1, still_used.stdout

    rewrapped = hubctl(vault, "rewrap", "--wait")
    assert rewrapped.returncode == 0 and "completed" in rewrapped.stderr, rewrapped.stderr
    retired = hubctl(vault, "retire", "1")
    assert retired.returncode == 0 and "key version 1 retired" in retired.stdout, retired.stderr
    after = hubctl(vault, "versions").stdout
    assert "retired" in after
    value = httpx.get(
        f"{vault.url}/v1/tenants/t1/connections/00000000-0000-0000-0000-000000000003"
        "/credentials/access_token",
        headers=oauth.headers_for("vault"),
    )
    assert value.json()["value"] == "secret-3" and value.json()["key_version"] == 2
