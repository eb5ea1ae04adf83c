"""Everything one OAuth operation needs about a connection: its manifest's OAuth config, the
endpoints (overrides SSRF-checked, RFC 8414 discovery applied) and the client credentials."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from hub_common.clients.vault import VaultClient
from hub_common.credential_keys import CLIENT_SECRET
from hub_common.db import Database
from hub_common.errors import BadRequest, Conflict, HubError
from hub_common.ssrf import HostUnresolvable, UrlNotAllowed, check_url
from hub_connector_sdk import AuthenticationMethod, OAuthConfig
from hub_oauth.adapters.connections import ConnectionDirectory, ConnectionInfo
from hub_oauth.adapters.provider_http import ClientCredentials, ProviderOAuthClient
from hub_oauth.domain import endpoints as ep
from hub_oauth.domain.app_webhook_secret import AppKind
from hub_oauth.domain.apps import DefaultApp, app_secret_owner
from hub_oauth.domain.token_response import OAuthProviderError
from hub_oauth.repositories import apps

# A changed app or secret reaches other replicas within this time.
SECRET_TTL_S = 30.0


@dataclass(frozen=True)
class OAuthContext:
    info: ConnectionInfo
    oauth: OAuthConfig
    endpoints: ep.Endpoints
    client: ClientCredentials
    redirect_uri: str | None
    app_scopes: list[str]


class ContextResolver:
    def __init__(
        self,
        *,
        db: Database,
        directory: ConnectionDirectory,
        vault: VaultClient,
        provider: ProviderOAuthClient,
        default_apps: dict[str, DefaultApp],
        outbound_allowlist: list[str],
    ) -> None:
        self.db = db
        self.directory = directory
        self.vault = vault
        self.provider = provider
        self.default_apps = default_apps
        self.allowlist = outbound_allowlist
        self._metadata: dict[str, tuple[float, dict[str, Any]]] = {}
        # App registrations and client secrets, briefly: every exchange and refresh needs them.
        self._apps: dict[tuple[str, str], tuple[float, apps.AppRow | None]] = {}
        self._secrets: dict[tuple[str, str], tuple[float, str | None]] = {}

    async def connection(self, tenant_id: str, connection_id: UUID) -> ConnectionInfo:
        return await self.directory.get(tenant_id, connection_id)

    async def resolve(self, tenant_id: str, connection_id: UUID, *, with_secret: bool = True) -> OAuthContext:
        """``with_secret=False`` when only the client id is needed (starting a flow)."""
        return await self.context(await self.directory.get(tenant_id, connection_id), with_secret=with_secret)

    async def context(self, info: ConnectionInfo, *, with_secret: bool = True) -> OAuthContext:
        """The provider side of a connection already found (and known to be the tenant's)."""
        if info.manifest is None or info.manifest.auth.method is not AuthenticationMethod.OAUTH2:
            raise Conflict(f"connector {info.connector_id} does not use OAuth 2.0", code="not_oauth")
        oauth = info.manifest.auth.oauth
        assert oauth is not None  # the manifest validator guarantees it for oauth2
        endpoints, overridden = ep.from_config(oauth, info.config)
        for url in overridden:
            await check_url(url, allowlist=self.allowlist)
        if endpoints.issuer:
            await check_url(endpoints.issuer, allowlist=self.allowlist)
            metadata = await self._discover(endpoints.issuer)
            endpoints = ep.from_metadata(endpoints, endpoints.issuer, metadata)
            endpoints = ep.Endpoints(**{**endpoints.__dict__, "pkce": endpoints.pkce and oauth.use_pkce})
        client, redirect_uri, scopes = await self._client(
            info.tenant_id, info.connector_id, with_secret, overridden=bool(overridden)
        )
        return OAuthContext(info, oauth, endpoints, client, redirect_uri, scopes)

    async def _discover(self, issuer: str) -> dict[str, Any]:
        cached = self._metadata.get(issuer)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            metadata = await self.provider.discover(issuer)
        except OAuthProviderError as exc:
            raise HubError(
                f"authorization server metadata: {exc.description or exc.error}",
                code="discovery_failed",
                status_code=502,
            ) from None
        await self._check_discovered(metadata)  # once per fetch, not on every resolve
        self._metadata[issuer] = (time.monotonic() + 3600, metadata)
        return metadata

    async def _check_discovered(self, metadata: dict[str, Any]) -> None:
        """The issuer's SSRF check for every endpoint its metadata names: a public issuer must not
        point us (and our client secret) at an internal address."""
        for field, url in ep.metadata_endpoints(metadata).items():
            try:
                await check_url(url, allowlist=self.allowlist)
            except HostUnresolvable as exc:
                # DNS trouble is not a verdict on the metadata: a 502 to retry, not a 400.
                raise HubError(
                    f"authorization server metadata: {field} does not resolve: {exc.message}",
                    code="discovery_failed",
                    status_code=502,
                    details={"endpoint": field},
                ) from None
            except UrlNotAllowed as exc:
                raise BadRequest(
                    f"authorization server metadata: {field} is not allowed: {exc.message}",
                    code="discovery_endpoint_not_allowed",
                    details={"endpoint": field, **exc.details},
                ) from None

    async def _client(
        self, tenant_id: str, connector_id: str, with_secret: bool, *, overridden: bool
    ) -> tuple[ClientCredentials, str | None, list[str]]:
        app = await self._app(tenant_id, connector_id)
        if app is not None:
            secret = await self._secret(tenant_id, connector_id) if with_secret else None
            return ClientCredentials(app.client_id, secret), app.redirect_uri, app.scopes
        default = self.default_apps.get(connector_id)
        if default is not None and overridden:
            # The deployment's client secret goes only to the manifest's own endpoints: with a
            # tenant's override it would be posted to wherever that tenant points it.
            raise BadRequest(
                f"this connection overrides {connector_id}'s OAuth endpoints, so the deployment's "
                f"OAuth app cannot be used: register the tenant's own with PUT /v1/oauth/apps/{connector_id}",
                code="oauth_app_required",
            )
        if default is not None:
            return (
                ClientCredentials(default.client_id, default.client_secret),
                default.redirect_uri,
                default.scopes,
            )
        raise BadRequest(
            f"no OAuth app is registered for {connector_id}: PUT /v1/oauth/apps/{connector_id} first",
            code="oauth_app_missing",
        )

    async def app_of(
        self, tenant_id: str, connector_id: str, *, overridden: bool = False
    ) -> tuple[AppKind, ClientCredentials]:
        """The app serving this tenant's connections of ``connector_id`` (its own, else the
        deployment's) with its client secret, chosen exactly as for a token call (ADR 0030)."""
        kind: AppKind = "tenant" if await self._app(tenant_id, connector_id) is not None else "deployment"
        client, _, _ = await self._client(tenant_id, connector_id, True, overridden=overridden)
        return kind, client

    async def _app(self, tenant_id: str, connector_id: str) -> apps.AppRow | None:
        cached = self._apps.get((tenant_id, connector_id))
        if cached and cached[0] > time.monotonic():
            return cached[1]
        async with self.db.connection() as conn:
            app = await apps.get(conn, tenant_id, connector_id)
        self._apps[(tenant_id, connector_id)] = (time.monotonic() + SECRET_TTL_S, app)
        return app

    async def _secret(self, tenant_id: str, connector_id: str) -> str | None:
        # Kept briefly in memory: every code exchange and refresh needs it, and the vault round
        # trip dominated the hub-side cost of a callback. A replaced secret reaches other
        # replicas within SECRET_TTL_S (providers accept the old one during rotation).
        cached = self._secrets.get((tenant_id, connector_id))
        if cached and cached[0] > time.monotonic():
            return cached[1]
        secret = await self.vault.read(tenant_id, app_secret_owner(connector_id), CLIENT_SECRET)
        self._secrets[(tenant_id, connector_id)] = (time.monotonic() + SECRET_TTL_S, secret)
        return secret

    def forget_app(self, tenant_id: str, connector_id: str) -> None:
        self._secrets.pop((tenant_id, connector_id), None)
        self._apps.pop((tenant_id, connector_id), None)
