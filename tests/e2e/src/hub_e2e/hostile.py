"""A custom connector that attacks the hub from inside its plugin worker (tests/e2e only).

Each hostile action tries one way out and reports what it got, as data, so that a test can
assert it got nothing: the environment, files (the stack's keys, other processes' ``/proc``),
service and user tokens minted with the public dev key, the gateway with its own scoped token
(another connection, another tenant, ``X-Hub-Tenant``, the gateway's other routes), and direct
connections to the hub's other services and stores. ``me`` is its legitimate action: a provider
call through the gateway with the credential the gateway injects.
"""

from __future__ import annotations

import os
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx

from hub_connector_sdk import (
    ApiKeyPlacement,
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    BaseConnector,
    ConnectorCategory,
    CredentialField,
    action,
)

SECRETISH = ("HUB_", "DSN", "SECRET", "PASSWORD", "TOKEN", "DATABASE", "KEY")
_ANY = {"type": "object", "additionalProperties": True}


def _outcome(call: Any) -> Any:
    try:
        return call()
    except Exception as exc:
        return f"refused: {type(exc).__name__}"


class HostilePlugin(BaseConnector):
    id = "hostile"
    name = "Hostile plugin"
    version = "1.0.0"
    category = ConnectorCategory.CUSTOM
    description = "Tries to escape its plugin worker (tests/e2e)."
    auth = AuthSpec(
        method=AuthenticationMethod.API_KEY,
        api_key=ApiKeyPlacement(name="X-Api-Key", prefix=""),
        fields=[CredentialField(key="api_key", label="API key")],
    )
    api = ApiSpec(
        base_url="https://api.hostile.invalid",
        allowed_hosts=["api.hostile.invalid", "127.0.0.1"],
        config_schema={
            "type": "object",
            "additionalProperties": False,
            "properties": {"base_url": {"type": "string", "maxLength": 2048}},
        },
    )
    health_path = "me"

    @action(params={"type": "object", "properties": {}, "additionalProperties": False})
    async def me(self, params: dict[str, Any]) -> Any:
        """The legitimate call: the provider, through the gateway."""
        return (await self.client.get("me")).json()

    @action(params={"type": "object", "properties": {}, "additionalProperties": False})
    async def environment(self, params: dict[str, Any]) -> Any:
        """Every variable this process has, and the secret-looking ones with their values."""
        leaked = {k: v for k, v in os.environ.items() if any(s in k.upper() for s in SECRETISH)}
        return {"names": sorted(os.environ), "leaked": leaked}

    @action(params=_ANY)
    async def files(self, params: dict[str, Any]) -> Any:
        """Read each of ``paths`` (plus the service's /proc entries)."""
        paths = [*params.get("paths", []), f"/proc/{os.getppid()}/environ", f"/proc/{os.getppid()}/cmdline"]

        def read(path: str) -> Any:
            if os.path.isdir(path):
                return f"listed {len(os.listdir(path))} entries"
            with open(path, "rb") as f:
                return f"read {len(f.read())} bytes"

        return {p: _outcome(lambda p=p: read(p)) for p in paths}

    @action(params=_ANY)
    async def mint(self, params: dict[str, Any]) -> Any:
        """Tokens minted with what this process can find (no service key; the public dev key at
        most, and a key of its own), sent to the gateway for the other tenant's connection."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from hub_common.settings import HubSettings
        from hub_common.web.auth import ServiceTokenMinter, mint_user_token

        settings = HubSettings()
        own_key = _outcome(
            lambda: ServiceTokenMinter.from_settings(settings.model_copy(update={"service_id": "connectors"}))
        )
        # No key here to sign as connectors: a key of its own, claiming to be connectors.
        forged = ServiceTokenMinter("connectors", Ed25519PrivateKey.generate())
        user = mint_user_token(settings, tenant=params["other_tenant"], user="mallory", tier="enterprise")
        url = f"{self._gateway()}/v1/proxy/{params['other_connection']}/me"
        as_service = {**forged.headers_for("gateway"), "X-Hub-Tenant": params["other_tenant"]}
        return {
            "service_key": own_key if isinstance(own_key, str) else "found",
            "service_token": _outcome(lambda: httpx.get(url, headers=as_service).status_code),
            "user_token": _outcome(
                lambda: httpx.get(url, headers={"Authorization": f"Bearer {user}"}).status_code
            ),
        }

    @action(params=_ANY)
    async def gateway(self, params: dict[str, Any]) -> Any:
        """Its own scoped token, used beyond its scope."""
        own = dict(self.client._headers())  # the token the worker was given for this call
        gw, other, mine = self._gateway(), params["other_connection"], self.context.connection_id

        def status(path: str, **headers: str) -> Any:
            return _outcome(lambda: httpx.get(f"{gw}{path}", headers={**own, **headers}).status_code)

        return {
            "own_token_token_shown": "authorization" in {k.lower() for k in own},
            "other_connection": status(f"/v1/proxy/{other}/me"),
            "other_connection_as_other_tenant": status(
                f"/v1/proxy/{other}/me", **{"X-Hub-Tenant": params["other_tenant"]}
            ),
            "own_connection_with_tenant_header": status(
                f"/v1/proxy/{mine}/me", **{"X-Hub-Tenant": self.context.tenant_id}
            ),
            "rate_limit_route": status(f"/v1/connections/{mine}/rate-limit"),
            "transforms_route": status("/v1/gateway/transforms"),
        }

    @action(params=_ANY)
    async def services(self, params: dict[str, Any]) -> Any:
        """Direct calls: the other services' internal routes, and raw TCP to the stores."""
        token = dict(self.client._headers())
        out: dict[str, Any] = {}
        for name, url in params.get("urls", {}).items():
            out[name] = _outcome(lambda url=url: httpx.get(url, headers=token, timeout=5).status_code)
        for name, address in params.get("sockets", {}).items():
            host, _, port = address.rpartition(":")
            out[name] = _outcome(
                lambda h=host, p=int(port): socket.create_connection((h, p), timeout=5).close()
            )
        return out

    def _gateway(self) -> str:
        base = urlsplit(str(self.client._http.base_url))
        return f"{base.scheme}://{base.netloc}"
