"""Settings of the oauth service (``HUB_*`` environment variables)."""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import urlsplit

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
    # A flow's one-time start link works this long after POST /v1/oauth/flows (the client opens
    # it right away); the flow itself then has the rest of oauth_flow_ttl_s.
    oauth_start_ttl_s: int = Field(default=120, ge=10, le=3600)
    # Deployment-wide OAuth apps: JSON {"github": {"client_id": "...", "client_secret": "...",
    # "redirect_uri": "...", "scopes": [...]}} used when a tenant registered none.
    oauth_default_apps: str = "{}"
    # After an app's client secret changes, its previous webhook-verifying copy still verifies
    # this long (deliveries the provider signed before, and its retries; docs/adr/0030).
    oauth_app_secret_overlap_s: int = Field(default=24 * 3600, ge=0)

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
    # A provider's answer (token, identity, resources, discovery, revocation) is read up to this
    # many bytes; a larger one is the provider error answer_too_large, never held whole.
    oauth_provider_max_answer_bytes: int = Field(default=1024 * 1024, ge=1024)

    @property
    def callback_url(self) -> str:
        return self.oauth_public_url.rstrip("/") + "/v1/oauth/callback"

    @property
    def callback_path(self) -> str:
        return urlsplit(self.callback_url).path

    @property
    def binding_cookie_secure(self) -> bool:
        """``Secure`` on the binding cookie unless browsers reach us over plain http on loopback
        (development); a plain-http public URL elsewhere still gets it, so the cookie never
        travels in clear text (browsers then drop it and the callback refuses the flow)."""
        parts = urlsplit(self.oauth_public_url)
        return not (parts.scheme == "http" and _is_loopback(parts.hostname or ""))

    @property
    def return_to_prefixes(self) -> list[str]:
        return [p.strip() for p in self.oauth_return_to_allowlist.split(",") if p.strip()]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
