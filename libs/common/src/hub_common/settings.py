"""Settings shared by every service: one `HUB_`-prefixed environment variable per address.

Each service subclasses :class:`HubSettings` for its own options; the defaults point at the
local stack started by ``hubctl stack up`` (non-standard ports so nothing collides).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_POSTGRES_DSN = "postgresql://hub:hub@127.0.0.1:15432/hub"
DEFAULT_KAFKA_BOOTSTRAP = "127.0.0.1:19092"
DEFAULT_REDIS_URL = "redis://127.0.0.1:16379/0"
# Dev-only signing key for `hubctl token`, accepted only with HUB_ENVIRONMENT=dev|test set
# explicitly and a loopback HUB_HOST; production sets HUB_JWT_JWKS_URL instead.
DEV_JWT_SECRET = "integration-hub-dev-signing-key-do-not-use-in-production"


class HubSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore", env_file=None)

    # Production unless told otherwise: dev and test accept user tokens signed with the public
    # dev key, so they are an explicit opt-in, and only on loopback (web.auth.check_listen_address).
    environment: Literal["dev", "test", "production"] = "production"
    service_name: str = "hub"
    host: str = "127.0.0.1"
    port: int = 8000

    postgres_dsn: str = DEFAULT_POSTGRES_DSN
    postgres_pool_min: int = 1
    postgres_pool_max: int = 10
    kafka_bootstrap: str = DEFAULT_KAFKA_BOOTSTRAP
    redis_url: str = DEFAULT_REDIS_URL

    log_level: str = "INFO"
    log_json: bool = True
    otlp_endpoint: str | None = None

    # Public API authentication (user bearer JWTs).
    jwt_issuer: str = "integration-hub-dev"
    jwt_audience: str = "integration-hub"
    jwt_dev_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_jwks_url: str | None = None

    # Service identity (hub_common.service_keys, ADR 0010): this service's own Ed25519 private
    # key (inline or a file), and the public keys of the services allowed to call it
    # ("id=<base64>,..."; an id may appear twice while its key rotates).
    service_id: str = ""
    service_private_key: SecretStr = SecretStr("")
    service_private_key_file: Path | None = None
    service_public_keys: str = ""
    # The HS256 shared secrets these replaced: refused when still set, never silently ignored.
    service_secret: SecretStr = SecretStr("")
    service_credentials: SecretStr = SecretStr("")

    vault_url: str = "http://127.0.0.1:8084"
    oauth_url: str = "http://127.0.0.1:8082"
    connectors_url: str = "http://127.0.0.1:8081"
    gateway_url: str = "http://127.0.0.1:8080"
    webhooks_url: str = "http://127.0.0.1:8083"

    outbox_poll_interval_s: float = Field(default=1.0, gt=0)
    # Where the outbox relay runs: on the serving event loop, or in a supervised child process
    # (hub_common.db.relay_process) so Kafka publishing never stalls requests.
    outbox_relay: Literal["inline", "process"] = "inline"

    # Outbound URLs the hub did not choose (base-URL overrides, custom OAuth endpoints, webhook
    # subscribers) must resolve to public addresses unless listed here (comma-separated hosts,
    # *.domains, host:port, IPs or CIDRs). See hub_common.ssrf.
    outbound_allowlist: str = ""

    @property
    def outbound_allowlist_entries(self) -> list[str]:
        return [e.strip() for e in self.outbound_allowlist.split(",") if e.strip()]

    @property
    def dev_mode(self) -> bool:
        return self.environment != "production"
