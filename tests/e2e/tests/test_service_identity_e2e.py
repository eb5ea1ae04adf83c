"""Service identities against real processes (issue #22 items 2 and 4, ADR 0010).

The gateway process is handed its own private key and its callers' public keys, nothing else.
With everything it holds it cannot get the vault to accept a token in oauth's name: not signed
with its own key, not HS256-"signed" with oauth's public key, not with the retired dev-derived
secret. The real oauth key still works, and a token for another audience is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from hub_common.service_keys import load_private_key, parse_public_keys
from hub_common.settings import DEV_JWT_SECRET
from hub_common.testing.service_keys import service_minter
from hub_common.web.auth import mint_service_token
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


def credential_url(vault: ServiceProcess, connection: str) -> str:
    return f"{vault.url}/v1/tenants/t1/connections/{connection}/credentials/refresh_token"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_peer_cannot_act_as_another_service(vault):
    connection = str(uuid.uuid4())
    url = credential_url(vault, connection)
    stored = httpx.put(url, json={"value": "rt-secret"}, headers=service_minter("oauth").headers_for("vault"))
    assert stored.status_code in (200, 201), stored.text

    # Exactly what a gateway process is started with.
    gateway_env = ServiceProcess("gateway", {}).process_env()
    gateway_key = load_private_key(gateway_env["HUB_SERVICE_PRIVATE_KEY"])
    held_public = parse_public_keys(gateway_env["HUB_SERVICE_PUBLIC_KEYS"])
    assert "oauth" in held_public  # it knows oauth's public key (oauth calls it), not its private one

    forgeries = {
        "gateway key, sub=oauth": mint_service_token(gateway_key, service_id="oauth", audience="vault"),
    }
    now = int(time.time())
    claims = {"typ": "service", "sub": "oauth", "aud": "vault", "iat": now, "exp": now + 60, "jti": "f"}
    for n, public in enumerate(held_public["oauth"]):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        forgeries[f"HS256 with oauth's public key {n}"] = jwt.encode(claims, raw, algorithm="HS256")
    retired = hmac.new(DEV_JWT_SECRET.encode(), b"service:oauth", hashlib.sha256).hexdigest()
    forgeries["HS256 with the old dev-derived secret"] = jwt.encode(claims, retired, algorithm="HS256")
    for name, token in forgeries.items():
        answer = httpx.get(url, headers=bearer(token))
        assert answer.status_code == 401, (name, answer.text)
        assert "rt-secret" not in answer.text

    # The gateway's own identity is accepted, and the vault's policy still holds it to its rules.
    as_gateway = httpx.get(
        url, headers=bearer(mint_service_token(gateway_key, service_id="gateway", audience="vault"))
    )
    assert as_gateway.status_code == 403 and as_gateway.json()["error"]["code"] == "policy_denied"
    # oauth, with its own key, reads its refresh token.
    assert httpx.get(url, headers=service_minter("oauth").headers_for("vault")).json()["value"] == "rt-secret"


def test_a_token_for_another_audience_is_refused(vault):
    url = credential_url(vault, str(uuid.uuid4()))
    for_gateway = service_minter("oauth").mint("gateway")
    answer = httpx.get(url, headers=bearer(for_gateway))
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "invalid_token"


def test_dev_mode_refuses_to_listen_beyond_loopback(vault):
    proc = subprocess.run(
        [sys.executable, "-c", "from hub_vault.cli import main; main()", "serve", "--host", "0.0.0.0"],
        env={**ServiceProcess("vault", {}).process_env(), "HUB_ENVIRONMENT": "dev"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "loopback" in lines[0] and "0.0.0.0" in lines[0], proc.stderr


def test_a_calling_service_without_its_key_refuses_to_start():
    env = ServiceProcess("oauth", {}).process_env()
    env.pop("HUB_SERVICE_PRIVATE_KEY")
    proc = subprocess.run(
        [sys.executable, "-c", "from hub_oauth.cli import main; main()", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and "HUB_SERVICE_PRIVATE_KEY" in proc.stderr, proc.stderr
