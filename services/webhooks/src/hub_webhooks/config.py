"""Settings of the webhooks service (``HUB_*`` environment variables)."""

from __future__ import annotations

from typing import Literal

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
    # Where the OAuth app client secret that Jira signs with is (the oauth service's answer, a
    # vault reference, ADR 0030): kept this long; a copy's credential.changed drops it at once.
    webhooks_app_secret_cache_s: float = Field(default=30.0, ge=0)
    webhooks_oauth_timeout_s: float = Field(default=10.0, gt=0)
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
    # GitHub gap filling: how often, and how far back (GitHub keeps deliveries for 3 days).
    webhooks_gap_fill_interval_s: float = Field(default=300.0, gt=0)
    webhooks_gap_fill_lookback_s: float = Field(default=3 * 24 * 3600, gt=0)
    # credential.changed / integration.disconnected (cache invalidation, registrations ending).
    webhooks_intake_group: str = "webhooks.intake"

    # -- outbound delivery (docs/adr/0020) --------------------------------------------------------
    # Run the fan-out consumer and the dispatcher in this process.
    webhooks_delivery: bool = True
    # Seconds before each attempt after a failure, comma-separated (default: Svix's schedule);
    # after the last one the delivery is a dead letter.
    webhooks_delivery_schedule: str = "0,5,300,1800,7200,18000,36000,36000"
    webhooks_delivery_jitter: float = Field(default=0.2, ge=0, le=1)
    webhooks_delivery_timeout_s: float = Field(default=15.0, gt=0)
    # Every push of a subscription failing this long disables it (with an event).
    webhooks_delivery_disable_after_s: float = Field(default=5 * 24 * 3600, gt=0)
    # Pushes in flight per process (each subscription also has its own max_concurrency).
    webhooks_delivery_concurrency: int = Field(default=64, ge=1)
    # A claimed delivery is someone else's to retry after this (more than the timeout).
    webhooks_delivery_lease_s: float = Field(default=60.0, gt=0)
    # How often the dispatcher looks for due retries when nothing woke it.
    webhooks_delivery_poll_s: float = Field(default=1.0, gt=0)
    webhooks_delivery_group: str = "webhooks.delivery-fanout"
    webhooks_delivery_offset_reset: Literal["earliest", "latest"] = "earliest"
