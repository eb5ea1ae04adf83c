"""A connection as the gateway needs it: where calls go and how they are authenticated.

Built from the connectors service's lookup answer (no secret inside); the credential values come
from the vault separately. Base-URL resolution mirrors the connectors service: an explicit
``config.base_url`` override, else ``api.base_url_template`` filled from config (e.g. Atlassian's
``{cloud_id}``), else the manifest's default.
"""

from __future__ import annotations

import string
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from hub_common import connection_credentials
from hub_common import credential_keys as keys
from hub_connector_sdk.hosts import matches_pattern
from hub_connector_sdk.models import ApiKeyPlacement, ApiSpec, AuthenticationMethod, AuthSpec
from hub_gateway.domain.errors import ConnectionNotActive, GatewayError, HostNotAllowed

M = AuthenticationMethod
BASE_URL_CONFIG_KEY = "base_url"
# Statuses in which calls may go out: a transient `error` or an expired token (the 401 path
# refreshes it) still work; `initializing`, `token_invalid` and `disconnected` do not.
USABLE_STATUSES = frozenset({"active", "error", "token_expired"})
# A health check may also go through an `initializing` connection: it is what takes an API-key
# connection out of that status (connectors checks it right after its credentials are stored).
HEALTH_CHECKABLE_STATUSES = USABLE_STATUSES | {"initializing"}


class LookupInvalid(GatewayError):
    status_code = 502
    code = "connection_lookup_invalid"


@dataclass(frozen=True, slots=True)
class ConnectionTarget:
    id: uuid.UUID
    tenant_id: str
    connector_id: str
    status: str
    auth_method: AuthenticationMethod
    custom: bool
    base_url: str
    allowed_hosts: tuple[str, ...]
    default_headers: tuple[tuple[str, str], ...]
    api_key: ApiKeyPlacement | None
    credential_keys: tuple[str, ...]
    usage_format: str | None = None  # the manifest's api.usage_format: token usage is metered
    # Derived once here, read on every call: the id as text (events, spans), ``host`` and
    # ``port`` of the base URL, its ``origin`` (``host[:port]``), and the circuit breaker's key
    # (the tenant and the base URL: one tenant's failures never pause another's calls).
    id_text: str = field(init=False, repr=False, compare=False)
    host: str = field(init=False, repr=False, compare=False)
    port: int | None = field(init=False, repr=False, compare=False)
    origin: str = field(init=False, repr=False, compare=False)
    circuit_key: tuple[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        object.__setattr__(self, "id_text", str(self.id))
        object.__setattr__(self, "host", (parts.hostname or "").lower())
        object.__setattr__(self, "port", parts.port)
        object.__setattr__(self, "origin", parts.netloc.lower())
        object.__setattr__(self, "circuit_key", (self.tenant_id, self.base_url))

    @property
    def is_oauth(self) -> bool:
        return self.auth_method is M.OAUTH2

    def ensure_usable(self, health_check: bool = False) -> None:
        """Refused (409) unless calls may go out; ``health_check``: the call is the connectors
        service's health check (the caller decides who may say so)."""
        if self.status not in (HEALTH_CHECKABLE_STATUSES if health_check else USABLE_STATUSES):
            raise ConnectionNotActive(
                f"the connection is {self.status}; calls through it are refused",
                details={"status": self.status},
            )


def resolve_base_url(api: ApiSpec, config: Mapping[str, Any]) -> str:
    override = config.get(BASE_URL_CONFIG_KEY)
    if isinstance(override, str) and override:
        return override.rstrip("/")
    template = api.base_url_template
    if template:
        names = [n for _, n, _, _ in string.Formatter().parse(template) if n]
        missing = [n for n in names if not isinstance(config.get(n), str | int)]
        if missing:
            raise LookupInvalid(
                "the connection's config lacks values its base URL template needs",
                details={"missing": missing},
            )
        return template.format(**{n: str(config[n]) for n in names}).rstrip("/")
    return api.base_url.rstrip("/")


def credential_keys_for(method: AuthenticationMethod, auth: AuthSpec | None) -> tuple[str, ...]:
    """The vault keys holding what gets injected, per the hub's one mapping
    (:mod:`hub_common.connection_credentials`): the first secret field of an API-key or bearer
    connector is *the* key or token."""
    if method is M.OAUTH2:
        return (keys.ACCESS_TOKEN,)
    if method is M.BASIC:
        return (keys.BASIC_USERNAME, keys.BASIC_PASSWORD)
    if method in (M.API_KEY, M.BEARER):
        if auth is not None:
            mapping = connection_credentials.vault_keys(auth)
            secret = [f.key for f in connection_credentials.fields_of(auth) if f.secret]
            first = secret[0] if secret else next(iter(mapping), None)
            if first is not None:
                return (mapping[first],)
        return (keys.API_KEY if method is M.API_KEY else keys.BEARER_TOKEN,)
    return ()


def effective_allowed_hosts(api: ApiSpec) -> tuple[str, ...]:
    if api.allowed_hosts:
        return tuple(h.lower() for h in api.allowed_hosts)
    parts = urlsplit(api.base_url)
    host = (parts.hostname or "").lower()
    return (f"{host}:{parts.port}" if parts.port else host,)


def check_allowed_host(target: ConnectionTarget) -> None:
    if not any(matches_pattern(target.host, target.port, p) for p in target.allowed_hosts):
        raise HostNotAllowed(
            f"host {target.host} is not among the hosts the connector declares",
            details={"host": target.host, "allowed_hosts": list(target.allowed_hosts)},
        )


def parse_lookup(body: Any, expected_id: uuid.UUID) -> ConnectionTarget:
    """The connectors service's answer (``GET /internal/v1/connections/{id}``) → a target.

    The answer carries the connection (``config``, ``status``, ``auth_method``), its connector's
    ``manifest`` (null if the connector is no longer loaded) and fields it already resolved
    (``base_url``, ``allowed_hosts``, ``default_headers``, ``api_key_placement``, ``custom``).
    Resolved fields win; the manifest fills in whatever is missing."""
    if not isinstance(body, dict):
        raise LookupInvalid("connection lookup answered something that is not an object")
    try:
        return _parse(body, expected_id)
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise LookupInvalid(f"connection lookup answer is not usable ({type(exc).__name__})") from None


def _parse(body: dict[str, Any], expected_id: uuid.UUID) -> ConnectionTarget:
    cid = uuid.UUID(str(body.get("id") or body["connection_id"]))
    if cid != expected_id:
        raise ValueError("lookup answered another connection")
    manifest = body.get("manifest")
    auth = AuthSpec.model_validate(manifest["auth"]) if manifest else None
    api = ApiSpec.model_validate(manifest["api"]) if manifest else None
    method = auth.method if auth else AuthenticationMethod(str(body["auth_method"]))
    base_url = body.get("base_url")
    if not base_url:
        if api is None:
            raise KeyError("base_url")
        base_url = resolve_base_url(api, body.get("config") or {})
    allowed = body.get("allowed_hosts") or (effective_allowed_hosts(api) if api else ())
    headers = body.get("default_headers")
    if headers is None:
        headers = api.default_headers if api else {}
    placement = auth.api_key if auth else None
    if placement is None and body.get("api_key_placement"):
        placement = ApiKeyPlacement.model_validate(body["api_key_placement"])
    custom = body.get("custom")
    return ConnectionTarget(
        id=cid,
        tenant_id=str(body["tenant_id"]),
        connector_id=str(body["connector_id"]),
        status=str(body["status"]),
        auth_method=method,
        custom=bool(custom) if custom is not None else not bool(manifest and manifest.get("builtin")),
        base_url=str(base_url).rstrip("/"),
        allowed_hosts=tuple(str(h).lower() for h in allowed),
        default_headers=tuple((str(k).lower(), str(v)) for k, v in headers.items()),
        api_key=placement,
        credential_keys=credential_keys_for(method, auth),
        usage_format=api.usage_format if api else None,
    )
