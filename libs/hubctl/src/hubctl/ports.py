"""The local stack's ports, movable with ``HUB_*_PORT`` so two checkouts can run side by side.

Unset, every port keeps its default (Postgres 15432, Kafka 19092 + controller 19093, Redis 16379,
services 8080-8084). ``stack_env`` turns the ports into the addresses the services and hubctl's
own commands read (``HUB_POSTGRES_DSN``, ``HUB_VAULT_URL``, ...), never replacing one the caller
set explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

HOST = "127.0.0.1"


class PortError(ValueError):
    pass


@dataclass(frozen=True)
class StackPorts:
    postgres: int = 15432
    kafka: int = 19092
    kafka_controller: int = 19093
    redis: int = 16379
    vault: int = 8084
    oauth: int = 8082
    connectors: int = 8081
    webhooks: int = 8083
    gateway: int = 8080

    @staticmethod
    def variable(name: str) -> str:
        return f"HUB_{name.upper()}_PORT"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StackPorts:
        """``HUB_POSTGRES_PORT``, ``HUB_KAFKA_PORT``, ``HUB_KAFKA_CONTROLLER_PORT``,
        ``HUB_REDIS_PORT``, ``HUB_<SERVICE>_PORT``; each 1024-65535, all different."""
        env = os.environ if env is None else env
        chosen: dict[str, int] = {}
        for f in fields(cls):
            raw = env.get(cls.variable(f.name), "").strip()
            if not raw:
                continue
            if not raw.isdigit() or not 1024 <= int(raw) <= 65535:
                raise PortError(f"{cls.variable(f.name)}={raw!r}: a port is a number from 1024 to 65535")
            chosen[f.name] = int(raw)
        ports = cls(**chosen)
        seen: dict[int, str] = {}
        for f in fields(ports):
            port = getattr(ports, f.name)
            if port in seen:
                raise PortError(
                    f"{cls.variable(f.name)} and {cls.variable(seen[port])} are both {port}; "
                    "each needs a port of its own"
                )
            seen[port] = f.name
        return ports

    def url(self, service: str) -> str:
        return f"http://{HOST}:{getattr(self, service)}"

    def stack_env(self) -> dict[str, str]:
        """The addresses these ports make, as the services' settings read them."""
        return {
            "HUB_POSTGRES_DSN": f"postgresql://hub:hub@{HOST}:{self.postgres}/hub",
            "HUB_KAFKA_BOOTSTRAP": f"{HOST}:{self.kafka}",
            "HUB_REDIS_URL": f"redis://{HOST}:{self.redis}/0",
            "HUB_VAULT_URL": self.url("vault"),
            "HUB_OAUTH_URL": self.url("oauth"),
            "HUB_CONNECTORS_URL": self.url("connectors"),
            "HUB_GATEWAY_URL": self.url("gateway"),
            "HUB_WEBHOOKS_URL": self.url("webhooks"),
            "HUB_OAUTH_PUBLIC_URL": self.url("oauth"),
            "HUB_OAUTH_UI_URL": f"{self.url('connectors')}/ui",
            "HUB_OAUTH_RETURN_TO_ALLOWLIST": f"{self.url('connectors')},http://localhost:{self.connectors}",
        }


def apply_stack_env(environ: dict[str, str] | os._Environ[str] | None = None) -> StackPorts:
    """Fill in the addresses the configured ports make, keeping any the caller set itself."""
    environ = os.environ if environ is None else environ
    ports = StackPorts.from_env(environ)
    for key, value in ports.stack_env().items():
        environ.setdefault(key, value)
    return ports
