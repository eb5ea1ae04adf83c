"""Settings of the gateway service (``HUB_*`` environment variables; gateway ones ``HUB_GATEWAY_*``)."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field, field_validator

from hub_common.settings import HubSettings
from hub_common.web.auth import Tier

SCHEMA = "gateway"
NEEDS = ("postgres", "kafka", "redis")


class GatewaySettings(HubSettings):
    service_name: str = "gateway"
    port: int = 8080

    # Upstream calls.
    gateway_connect_timeout_s: float = Field(default=5.0, gt=0)
    gateway_read_timeout_s: float = Field(default=30.0, gt=0)
    gateway_max_body_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    # The gateway's own API (transforms): 413 `payload_too_large` above this, before parsing.
    gateway_api_max_body_bytes: int = Field(default=256 * 1024, gt=0)
    # A caller's body must keep coming: nothing for this long and the call ends (408), so a
    # stalled upload cannot hold one of the provider's pooled connections indefinitely.
    gateway_body_idle_timeout_s: float = Field(default=30.0, gt=0)
    # Bodies up to this size are buffered, so a retry or a post-refresh replay can resend them.
    gateway_replay_buffer_bytes: int = Field(default=256 * 1024, ge=0)
    gateway_upstream_pool_size: int = Field(default=512, ge=1, description="connections per provider origin")
    gateway_upstream_idle_timeout_s: float = Field(default=15.0, gt=0)
    gateway_upstream_ca_file: str | None = None  # extra trusted CAs (e.g. a GitHub Enterprise host's)
    gateway_max_retries: int = Field(default=2, ge=0, le=5)
    gateway_max_retry_after_s: float = Field(default=2.0, ge=0)
    gateway_circuit_failures: int = Field(default=5, ge=1)
    gateway_circuit_open_s: float = Field(default=30.0, gt=0)
    # Connector ids (comma-separated, "*" for all) whose providers receive the gateway's
    # traceparent and X-Forwarded-*: opt-in, since they describe the hub's inside to a third
    # party (an in-house service that joins the hub's traces is the case for it).
    gateway_propagate_context_to: str = ""

    # Who may call.
    gateway_trusted_services: str = "connectors,webhooks,oauth"
    gateway_service_default_tier: Tier = Tier.TEAMS

    # Quotas: JSON merged over the tier defaults, e.g.
    # {"teams": {"connection": {"rate": 10, "burst": 20}, "tenant": {"rate": 50, "burst": 100}}}
    gateway_quotas: str = "{}"
    gateway_lease_max: int = Field(default=256, ge=1)
    gateway_lease_ttl_s: float = Field(default=0.5, gt=0)

    # Provider budgets.
    gateway_provider_default_backoff_s: float = Field(default=1.0, ge=0)
    gateway_provider_block_max_s: float = Field(default=3600.0, gt=0)
    gateway_snapshot_flush_interval_s: float = Field(default=1.0, gt=0)

    # Caches (invalidated by events; the TTL only bounds a missed event).
    gateway_connection_cache_ttl_s: float = Field(default=60.0, ge=0)
    gateway_credential_cache_ttl_s: float = Field(default=300.0, ge=0)
    gateway_cache_max_entries: int = Field(default=10_000, ge=1)
    gateway_invalidation_stale_s: float = Field(default=5.0, gt=0)
    gateway_connection_lookup_path: str = "/internal/v1/connections/{connection_id}"

    # Spans per proxied call: "auto" records them when an OTLP endpoint is set (otherwise the W3C
    # context is still carried through to the provider and the events).
    gateway_tracing: Literal["auto", "on", "off"] = "auto"

    # Events and transforms.
    gateway_events_queue_max: int = Field(default=100_000, ge=1)
    gateway_events_flush_interval_s: float = Field(default=0.1, gt=0)
    gateway_transform_max_body_bytes: int = Field(default=1024 * 1024, ge=0)

    @field_validator("gateway_quotas")
    @classmethod
    def _quotas_json(cls, value: str) -> str:
        from hub_gateway.domain.tiers import merged_quotas

        try:
            parsed = json.loads(value or "{}")
            merged_quotas(parsed)
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"not a valid quota override: {exc}") from None
        return value

    @property
    def quota_overrides(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.gateway_quotas or "{}")
        return parsed

    @property
    def tracing_enabled(self) -> bool:
        return self.gateway_tracing == "on" or (self.gateway_tracing == "auto" and bool(self.otlp_endpoint))

    @property
    def propagate_context_to(self) -> frozenset[str]:
        return frozenset(s.strip() for s in self.gateway_propagate_context_to.split(",") if s.strip())

    @property
    def trusted_services(self) -> frozenset[str]:
        return frozenset(s.strip() for s in self.gateway_trusted_services.split(",") if s.strip())
