"""Settings of the webhooks service (``HUB_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field

from hub_common.settings import HubSettings

SCHEMA = "webhooks"
NEEDS = ("postgres", "kafka", "redis")


class WebhooksSettings(HubSettings):
    service_name: str = "webhooks"
    port: int = 8083

    # The URL providers post to (registrations answer `{public_url}/webhooks/...`).
    webhooks_public_url: str | None = None  # default: HUB_WEBHOOKS_URL
    # Inbound raw body limit: larger deliveries get 413 before anything is read further.
    webhooks_max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    # How long a verified secret and a registration stay in memory (rotation keeps the old
    # secret valid for 24 h, so a short staleness never refuses a good delivery).
    webhooks_secret_cache_s: float = Field(default=60.0, ge=0)
    webhooks_registration_cache_s: float = Field(default=2.0, ge=0)
    # Old and new secrets both verify this long after a rotation.
    webhooks_rotation_overlap_s: int = Field(default=24 * 3600, ge=0)
    # Refused deliveries: at most this many audit rows per registration and minute.
    webhooks_audit_per_minute: int = Field(default=5, ge=1)
    # Counters (received_count, last_received_at) are flushed this often.
    webhooks_counter_flush_s: float = Field(default=1.0, gt=0)
    # Connector manifests fetched from the connectors service are kept this long.
    webhooks_manifest_cache_s: float = Field(default=300.0, ge=0)
    webhooks_connectors_timeout_s: float = Field(default=15.0, gt=0)
    # Background work: retention purge, Jira renewal, GitHub gap filling.
    webhooks_background: bool = True
    webhooks_retention_interval_s: float = Field(default=3600.0, gt=0)
    webhooks_renewal_interval_s: float = Field(default=3600.0, gt=0)
    # Renew provider registrations expiring within this window (Jira: 30-day webhooks).
    webhooks_renew_before_s: int = Field(default=7 * 24 * 3600, ge=0)
