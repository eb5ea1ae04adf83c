"""``hubctl up`` hands each local service its own key and only its callers' public keys."""

import pytest

from hub_common.service_keys import SERVICE_CALLERS, load_private_key, parse_public_keys
from hub_common.settings import HubSettings
from hub_common.web.auth import Authenticator, ServiceTokenMinter, check_service_identity
from hubctl.keys import local_service_env, stack_keys

pytestmark = pytest.mark.unit


def test_each_local_service_gets_its_own_key_once(tmp_path):
    first = {s: local_service_env(tmp_path, s) for s in SERVICE_CALLERS}
    again = {s: local_service_env(tmp_path, s) for s in SERVICE_CALLERS}
    assert first == again  # idempotent: the keys made by the first `hubctl up` stay
    keys = stack_keys(tmp_path)
    for service, env in first.items():
        assert env["HUB_ENVIRONMENT"] == "dev"  # the explicit opt-in, loopback only
        assert env["HUB_SERVICE_PRIVATE_KEY_FILE"] == str(tmp_path / ".stack" / "keys" / f"{service}.key")
        assert set(parse_public_keys(env["HUB_SERVICE_PUBLIC_KEYS"])) == set(SERVICE_CALLERS[service])
        settings = HubSettings(
            service_name=service,
            environment="dev",
            service_private_key_file=env["HUB_SERVICE_PRIVATE_KEY_FILE"],
            service_public_keys=env["HUB_SERVICE_PUBLIC_KEYS"],
        )
        check_service_identity(settings)  # what `serve` checks before listening
    # The gateway's key file is the gateway's, and the vault accepts it as the gateway only.
    gateway_key = load_private_key((tmp_path / ".stack" / "keys" / "gateway.key").read_text())
    assert gateway_key.public_key() == keys.private_key("gateway").public_key()
    vault = Authenticator(HubSettings(service_public_keys=first["vault"]["HUB_SERVICE_PUBLIC_KEYS"]))
    token = ServiceTokenMinter("gateway", gateway_key).token_for("vault")
    assert vault.verify_service(token, "vault").service_id == "gateway"
