"""Service identities for tests and benchmarks: one Ed25519 key per service, made once per run.

A service under test (in-process or a real process) gets its own private key and the public
keys of its callers (``service_env`` / ``service_key_settings``); the test calls it as another
service with ``service_minter``, holding that service's private key exactly as the real one would.
"""

from __future__ import annotations

from typing import Any

from hub_common.service_keys import ServiceKeySet
from hub_common.web.auth import ServiceTokenMinter

SERVICE_KEYS = ServiceKeySet.generate()


def service_minter(service_id: str) -> ServiceTokenMinter:
    """Mints tokens as ``service_id`` (with its real key of this run)."""
    return ServiceTokenMinter(service_id, SERVICE_KEYS.private_key(service_id))


def service_key_settings(service_id: str) -> dict[str, Any]:
    """Settings keyword arguments for an in-process ``service_id``: its key, its callers' keys."""
    env = SERVICE_KEYS.env_for(service_id)
    return {
        "service_private_key": env["HUB_SERVICE_PRIVATE_KEY"],
        "service_public_keys": env["HUB_SERVICE_PUBLIC_KEYS"],
    }


def service_env(service_id: str) -> dict[str, str]:
    """The environment of ``service_id`` run as a process in tests: the explicit test opt-in
    (dev-key user tokens, loopback only) and its identity."""
    return {"HUB_ENVIRONMENT": "test", **SERVICE_KEYS.env_for(service_id)}
