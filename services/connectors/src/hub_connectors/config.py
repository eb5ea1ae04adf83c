"""Settings of the connectors service (``HUB_*`` environment variables)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Literal

from pydantic import Field

from hub_common.settings import HubSettings

SCHEMA = "connectors"
NEEDS = ("postgres", "kafka")


def _package_version() -> str:
    try:
        return version("hub-connectors")
    except PackageNotFoundError:
        return "0.1.0"


HUB_VERSION = _package_version()


class ConnectorsSettings(HubSettings):
    service_name: str = "connectors"
    port: int = 8081

    # Connector registry.
    connectors_hub_version: str = HUB_VERSION  # compared with manifests' min_hub_version
    connectors_load_plugins: bool = True
    # Internal hosts a base URL may point at anyway: HUB_OUTBOUND_ALLOWLIST (shared setting).

    # Running connector code.
    connectors_action_timeout_s: float = Field(default=30.0, gt=0)
    connectors_health_timeout_s: float = Field(default=10.0, gt=0)
    # Custom connectors run in worker processes (docs/adr/0011-plugin-isolation.md): at most this
    # many live workers, this many calls (workers) per connector; an idle worker ends after
    # idle_s; "required" refuses to run a plugin where the kernel has no Landlock.
    connectors_plugin_workers: int = Field(default=8, ge=1)
    connectors_plugin_calls_per_connector: int = Field(default=4, ge=1)
    connectors_plugin_idle_s: float = Field(default=300.0, gt=0)
    connectors_plugin_spawn_timeout_s: float = Field(default=30.0, gt=0)
    connectors_plugin_sandbox: Literal["auto", "required", "off"] = "auto"
    connectors_gateway_timeout_s: float = Field(default=30.0, gt=0)
    # Action result data kept in integration.action-executed events (larger data is summarised).
    connectors_event_result_max_bytes: int = Field(default=16 * 1024, ge=256)

    # Background work (consumers, periodic health checks, audit retention). On by default so
    # that `serve` alone is a complete service; `worker` runs the same without HTTP.
    connectors_background: bool = True
    # Request bodies (a connection's config and credentials, an action's parameters) are refused
    # above this before any parsing: every list and lookup would otherwise carry a huge config.
    connectors_max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    connectors_consumer_group_prefix: str = "connectors"
    # The faust agent turning webhook.received into integration.trigger-fired (docs/adr/0020).
    connectors_triggers: bool = True
    # The faust agent running automations on integration.trigger-fired (docs/adr/0029), and
    # its loop protection: more runs of one automation than this within the window disable it.
    connectors_automations: bool = True
    connectors_automation_attempts: int = Field(default=4, ge=1, le=10)
    connectors_automation_loop_window_s: float = Field(default=60.0, gt=0)
    connectors_automation_loop_max_runs: int = Field(default=30, ge=1)
    # The Integration Manager UI (docs/adr/0029): how long a browser session and an end user's
    # connect session last.
    connectors_ui_session_ttl_s: float = Field(default=8 * 3600.0, gt=0)
    connectors_connect_session_ttl_s: float = Field(default=30 * 60.0, gt=0, le=24 * 3600.0)
    # The URL browsers reach this service at (connect links); unset: the request's own.
    connectors_public_url: str | None = None
    # Where a new consumer group starts: "earliest" so that nothing is missed on first deploy.
    connectors_consumer_offset_reset: Literal["earliest", "latest"] = "earliest"
    # Status changes and audit projection tolerate this much delay; in exchange the broker
    # batches their records (one fetch, decode and commit per batch, not per event).
    connectors_consumer_batch_wait_ms: int = Field(default=100, ge=0, le=1000)
    connectors_audit_topics: list[str] = Field(
        default_factory=lambda: [
            "integration.connected",
            "integration.disconnected",
            "integration.status-changed",
            "integration.action-executed",
            "credential.changed",
            "automation.run",
        ]
    )
    connectors_health_interval_s: float = Field(default=300.0, gt=0)
    connectors_health_batch_size: int = Field(default=50, ge=1)
    connectors_health_concurrency: int = Field(default=8, ge=1)
    connectors_audit_purge_interval_s: float = Field(default=3600.0, gt=0)
    # Creations that never finished (services/sweeper.py): an API-key connection still
    # initializing after this gets one health check, then is abandoned unless it passed; an
    # OAuth one whose flow never completed is abandoned after the second (flows last 10 min).
    connectors_sweep_interval_s: float = Field(default=60.0, gt=0)
    connectors_abandon_api_key_after_s: float = Field(default=300.0, gt=0)
    connectors_abandon_oauth_after_s: float = Field(default=3600.0, gt=0)
    # Consumer dedupe ids are forgotten after this; longer than the broker keeps records (7 days
    # by default), so no redelivery can outlive its id.
    connectors_dedupe_retention_days: float = Field(default=14.0, gt=0)

    # Content exports (ADR 0016): a worker holds an export through a lease renewed every page;
    # after a crash another worker resumes it from the checkpointed cursor once the lease ends.
    connectors_export_lease_s: float = Field(default=60.0, gt=0)
    connectors_export_poll_interval_s: float = Field(default=2.0, gt=0)
    connectors_export_concurrency: int = Field(default=2, ge=1)
    connectors_export_max_attempts: int = Field(default=3, ge=1)
    # Document text above this is cut (text_truncated=true): Kafka records have a size limit.
    connectors_export_max_text_bytes: int = Field(default=256 * 1024, ge=1024)

    # Polling triggers (ADR 0021): how often due polls are looked for, and an override of every
    # trigger's own interval (None: the manifest's poll_interval_s; tests and demos set seconds).
    connectors_trigger_poll_every_s: float = Field(default=5.0, gt=0)
    connectors_trigger_poll_interval_s: float | None = Field(default=None, gt=0)
    connectors_trigger_poll_retry_s: float = Field(default=60.0, gt=0)

    # Disconnect asks the oauth service to revoke at the provider when it offers the route.
    connectors_oauth_revoke: bool = True
    connectors_oauth_timeout_s: float = Field(default=5.0, gt=0)
