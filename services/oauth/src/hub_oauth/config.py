"""Settings of the oauth service (``HUB_*`` environment variables)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hub_common.settings import HubSettings

SCHEMA = "oauth"
NEEDS = ("postgres", "kafka", "redis")


class OAuthSettings(HubSettings):
    service_name: str = "oauth"
    port: int = 8082
    # Callbacks stage integration.connected: publishing it must not stall the next callback.
    outbox_relay: Literal["inline", "process"] = "process"

    # Where browsers reach this service (the redirect URI registered at providers).
    oauth_public_url: str = "http://127.0.0.1:8082"
    # Where the browser lands after a callback when no allow-listed return_to was given.
    oauth_ui_url: str = "http://127.0.0.1:8081/ui"
    # return_to must start with one of these (comma-separated origins or URL prefixes).
    oauth_return_to_allowlist: str = "http://127.0.0.1:8081,http://localhost:8081"
    oauth_flow_ttl_s: int = Field(default=600, ge=60, le=3600)
    # Deployment-wide OAuth apps: JSON {"github": {"client_id": "...", "client_secret": "...",
    # "redirect_uri": "...", "scopes": [...]}} used when a tenant registered none.
    oauth_default_apps: str = "{}"

    refresh_margin_s: int = Field(default=300, ge=0)
    # Refresh tokens that are never used still get refreshed this often (Atlassian expires
    # refresh tokens unused for 90 days).
    refresh_idle_s: int = Field(default=7 * 24 * 3600, ge=60)
    refresh_scheduler_interval_s: float = Field(default=30.0, gt=0)
    provider_attempts: int = Field(default=3, ge=1, le=10)
    provider_backoff_s: float = Field(default=0.2, ge=0)
    # Raw request bodies are refused above this before any parsing. Twenty credential fields at
    # the field check's 8192 characters each still fit, even written as \uXXXX escapes.
    oauth_max_body_bytes: int = Field(default=1024 * 1024, gt=0)

    @property
    def callback_url(self) -> str:
        return self.oauth_public_url.rstrip("/") + "/v1/oauth/callback"

    @property
    def return_to_prefixes(self) -> list[str]:
        return [p.strip() for p in self.oauth_return_to_allowlist.split(",") if p.strip()]
