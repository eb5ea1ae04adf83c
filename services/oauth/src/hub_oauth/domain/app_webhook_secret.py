"""The copy of an OAuth app's client secret that verifies the webhooks its provider signs with it
(Atlassian's dynamic webhooks: an HS256 JWT made with the app's client secret; docs/adr/0030).

The copy lives in the vault next to the app's secret (same owner id) under a key of its own,
``client_secret.webhooks-v<n>``: the vault lets the webhooks service read those keys and nothing
else of the app. A changed secret is a new key; the previous one keeps verifying for an overlap.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from hub_common.credential_keys import CLIENT_SECRET_WEBHOOKS
from hub_connector_sdk import AuthenticationMethod, ConnectorManifest, JwtSignature

AppKind = Literal["tenant", "deployment"]


def signed_with_client_secret(manifest: ConnectorManifest | None) -> bool:
    """True when the connector's webhooks are signed with its OAuth app's client secret: an
    OAuth 2.0 connector whose declared scheme (or an alternative) is a JWT — JwtSignature is by
    definition made with the app's secret (the SDK's ``atlassian-jwt`` preset, a custom
    connector's own spec alike)."""
    if manifest is None or manifest.auth.method is not AuthenticationMethod.OAUTH2:
        return False
    specs = [manifest.webhook_signature, *manifest.webhook_signature_alternatives]
    return any(isinstance(spec, JwtSignature) for spec in specs)


def mirror_key(version: int) -> str:
    return f"{CLIENT_SECRET_WEBHOOKS}-v{version}"


def fingerprint(kind: AppKind, client_id: str, secret: str) -> str:
    """Tells whether the copy still matches the app (kind, client and secret) without keeping or
    reading the secret back; client secrets are long random values, so the digest reveals none."""
    material = "\0".join(("hub-oauth-app-webhook-secret", kind, client_id, secret))
    return hashlib.sha256(material.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Mirror:
    """Which vault keys hold the copy for one (tenant, connector) app."""

    tenant_id: str
    connector_id: str
    app_kind: AppKind
    client_id: str
    fingerprint: str
    current_key: str
    previous_key: str | None
    previous_valid_until: datetime | None
    rotated_at: datetime

    def previous_valid(self, now: datetime) -> bool:
        return bool(self.previous_key and self.previous_valid_until and self.previous_valid_until > now)

    def keys(self, now: datetime) -> list[str]:
        """The keys whose values verify now: the current copy, and the previous one during the overlap."""
        return [
            self.current_key,
            *([self.previous_key] if self.previous_valid(now) and self.previous_key else []),
        ]
