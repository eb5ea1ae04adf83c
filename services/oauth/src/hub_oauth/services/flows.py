"""Authorization-code flows: start (PKCE S256, single-use state), callback/exchange, post-connect.

Failures leave nothing half-stored: tokens reach the vault only after the exchange and the
identity steps succeeded, and the flow is claimed exactly once before any network call.

A flow completes in one of two ways (docs/adr/0012-browser-bound-oauth-flows.md): at the
callback, in the browser that opened the flow's one-time start link (it holds the binding
cookie), or through ``/exchange``, called by the user who started it while no browser opened
the link. A callback from any other browser ends the flow, so its code is worth nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from hub_common.db import Database
from hub_common.errors import BadRequest, Conflict
from hub_common.ssrf import check_url
from hub_common.web.auth import Principal
from hub_oauth.adapters.provider_http import ProviderOAuthClient
from hub_oauth.config import OAuthSettings
from hub_oauth.domain import binding, pkce
from hub_oauth.domain.apps import return_to_allowed
from hub_oauth.domain.authorize import authorization_url
from hub_oauth.domain.errors import FlowError, FlowRevoked
from hub_oauth.domain.token_response import OAuthProviderError, TokenSet
from hub_oauth.repositories import flows
from hub_oauth.repositories.flows import FlowRow
from hub_oauth.services.oauth_context import ContextResolver, OAuthContext
from hub_oauth.services.revoke import revoke_each
from hub_oauth.services.token_store import TokenStore

log = logging.getLogger(__name__)
ATLASSIAN_RESOURCES = "https://api.atlassian.com/oauth/token/accessible-resources"
_UNSTORED_NOT_REVOKED = "a grant obtained during a revoke could not be revoked at the provider"
REAUTHORIZABLE = {"initializing", "token_expired", "token_invalid", "error", "active"}


@dataclass(frozen=True)
class StartedFlow:
    flow_id: UUID
    authorization_url: str
    start_url: str
    expires_at: datetime
    start_expires_at: datetime


@dataclass(frozen=True)
class OpenedFlow:
    """A start link just used: where to send the browser, and the binding to give it."""

    flow_id: UUID
    authorization_url: str
    binding: str
    expires_at: datetime


@dataclass(frozen=True)
class CompletedFlow:
    flow_id: UUID
    connection_id: UUID
    connector_id: str
    external_account_id: str
    return_to: str | None
    scopes: list[str]


class FlowService:
    def __init__(
        self,
        *,
        settings: OAuthSettings,
        db: Database,
        resolver: ContextResolver,
        provider: ProviderOAuthClient,
        store: TokenStore,
    ) -> None:
        self.settings = settings
        self.db = db
        self.resolver = resolver
        self.provider = provider
        self.store = store

    async def start(
        self,
        principal: Principal,
        connection_id: UUID,
        *,
        scopes: list[str] | None,
        additional: dict[str, str] | None,
        return_to: str | None,
    ) -> StartedFlow:
        assert principal.tenant_id is not None and principal.user_id is not None
        ctx = await self.resolver.resolve(principal.tenant_id, connection_id, with_secret=False)
        if ctx.info.status not in REAUTHORIZABLE:
            raise Conflict(
                f"connection is {ctx.info.status}",
                code="connection_not_authorizable",
                details={"status": ctx.info.status},
            )
        if return_to is not None and not return_to_allowed(return_to, self.settings.return_to_prefixes):
            raise BadRequest("return_to is not on the allow-list", code="return_to_not_allowed")
        if ctx.oauth.grant_type != "authorization_code":
            raise Conflict("this connector uses client credentials: no user flow", code="no_user_flow")
        chosen = scopes if scopes else (ctx.app_scopes or ctx.oauth.default_scopes)
        redirect_uri = ctx.redirect_uri or self.settings.callback_url
        state = pkce.new_state()
        verifier = pkce.new_verifier() if ctx.endpoints.pkce else None
        flow = FlowRow(
            id=uuid.uuid4(),
            tenant_id=principal.tenant_id,
            user_id=principal.user_id,
            connection_id=connection_id,
            connector_id=ctx.info.connector_id,
            code_verifier=verifier,
            redirect_uri=redirect_uri,
            scopes=chosen,
            return_to=return_to,
            expected_iss=ctx.endpoints.issuer if ctx.endpoints.iss_required else None,
            status="pending",
            expires_at=datetime.now(UTC) + timedelta(seconds=self.settings.oauth_flow_ttl_s),
        )
        url = authorization_url(
            ctx.endpoints.authorization_url,
            oauth=ctx.oauth,
            client_id=ctx.client.client_id,
            redirect_uri=redirect_uri,
            scopes=chosen,
            state=state,
            code_challenge=pkce.challenge(verifier) if verifier else None,
            additional=additional,
        )
        # Named start_token in the URL, so the log redaction already hides it.
        ticket = binding.new_secret()
        start_expires_at = min(
            flow.expires_at, datetime.now(UTC) + timedelta(seconds=self.settings.oauth_start_ttl_s)
        )
        async with self.db.connection() as conn:
            await flows.insert(
                conn,
                flow,
                pkce.state_hash(state),
                start_hash=binding.digest(ticket),
                start_expires_at=start_expires_at,
                authorization_url=url,
            )
        base = self.settings.oauth_public_url.rstrip("/")
        start_url = f"{base}/v1/oauth/flows/{flow.id}/start?start_token={ticket}"
        return StartedFlow(flow.id, url, start_url, flow.expires_at, start_expires_at)

    async def open_start(self, flow_id: UUID, ticket: str | None) -> OpenedFlow:
        """The start link, opened by a browser: bind the flow to it (once) and send it on."""
        if not ticket:
            raise FlowError("the start link has no start_token", code="start_link_invalid")
        value = binding.new_secret()
        async with self.db.connection() as conn:
            opened = await flows.open_start(conn, flow_id, binding.digest(ticket), binding.digest(value))
            if opened is None:
                raise _start_unusable(await flows.why_start_unusable(conn, flow_id))
        url, expires_at = opened
        return OpenedFlow(flow_id, url, value, expires_at)

    async def callback(
        self,
        *,
        code: str | None,
        state: str | None,
        iss: str | None,
        error: str | None,
        error_description: str | None,
        cookies: Mapping[str, str],
    ) -> CompletedFlow:
        if not state:
            raise FlowError("the callback has no state", code="state_missing")
        async with self.db.connection() as conn:
            flow = await flows.claim_by_state(conn, pkce.state_hash(state))
            if flow is None:
                raise _unclaimable(await flows.why_unclaimable(conn, state_hash=pkce.state_hash(state)))
        await self._check_binding(flow, cookies.get(binding.cookie_name(flow.id)))
        if error:
            await self._fail(flow.id, error[:64])
            code_name = "access_denied" if error == "access_denied" else "provider_error"
            raise FlowError(
                f"the provider answered {error}"
                + (f": {error_description[:200]}" if error_description else ""),
                code=code_name,
            )
        await self._check_expected_iss(flow, iss)
        if not code:
            await self._fail(flow.id, "code_missing")
            raise FlowError("the callback has no code", code="code_missing")
        return await self._complete(flow, code, iss=iss)

    async def exchange(
        self, principal: Principal, flow_id: UUID, code: str, iss: str | None = None
    ) -> CompletedFlow:
        """The callback's work for an API client that received the authorization response
        itself; it passes the response's ``iss`` on, and the same RFC 9207 checks apply."""
        assert principal.tenant_id is not None and principal.user_id is not None
        async with self.db.connection() as conn:
            flow = await flows.claim_by_id(conn, flow_id, principal.tenant_id, principal.user_id)
            if flow is None:
                raise _unclaimable(
                    await flows.why_unclaimable(
                        conn, flow_id=flow_id, tenant_id=principal.tenant_id, user_id=principal.user_id
                    )
                )
        await self._check_expected_iss(flow, iss)
        return await self._complete(flow, code, iss=iss)

    async def _fail(self, flow_id: UUID, error_code: str) -> None:
        async with self.db.connection() as conn:
            await flows.finish(conn, flow_id, ok=False, error_code=error_code)

    async def _check_binding(self, flow: FlowRow, presented: str | None) -> None:
        """RFC 6749 §10.12: the callback must come from the browser that started the flow. Any
        other browser ends it (and its PKCE verifier), so the code it carried cannot be used
        anywhere afterwards, not even by the flow's own user in their own browser."""
        if binding.proves(presented, flow.binding_hash):
            return
        await self._fail(flow.id, "flow_binding_mismatch")
        # not_opened: the authorization URL was opened without the flow's start link.
        reason = "not_opened" if flow.binding_hash is None else "missing" if presented is None else "mismatch"
        log.warning(
            "callback from a browser the flow is not bound to",
            extra={
                "flow_id": str(flow.id),
                "tenant_id": flow.tenant_id,
                "connection_id": str(flow.connection_id),
                "reason": reason,
            },
        )
        raise FlowError(
            "this browser did not start this connection: a connection completes only in the browser "
            "that opened its start link. Nothing was connected; start a new connection.",
            code="flow_binding_mismatch",
            status_code=403,
            details={"reason": reason},
        )

    async def _check_expected_iss(self, flow: FlowRow, iss: str | None) -> None:
        if flow.expected_iss is not None and iss != flow.expected_iss:
            # RFC 9207 §2.4: a missing or different iss means a mix-up attack; stop here.
            await self._fail(flow.id, "issuer_mismatch")
            raise FlowError("the authorization response's iss does not match", code="issuer_mismatch")

    async def mint_client_credentials(self, principal: Principal, connection_id: UUID) -> str:
        """Connect a client-credentials connector (no user in the loop); re-minted before expiry."""
        assert principal.tenant_id is not None
        ctx = await self.resolver.resolve(principal.tenant_id, connection_id)
        if ctx.oauth.grant_type != "client_credentials":
            raise Conflict("this connector uses the authorization-code flow", code="user_flow_required")
        try:
            token_set = await self.provider.client_credentials(
                ctx.endpoints, ctx.oauth, ctx.client, scopes=ctx.app_scopes or ctx.oauth.default_scopes
            )
        except OAuthProviderError as exc:
            raise FlowError(
                f"the provider refused the client credentials: {exc.error}",
                code="exchange_failed",
                status_code=502 if exc.retryable else 400,
            ) from None
        account_id, metadata = await self._post_connect(ctx, token_set)
        await self.store.store_initial(
            ctx, token_set, external_account_id=account_id, metadata=metadata, grant_type="client_credentials"
        )
        return account_id

    async def _complete(self, flow: FlowRow, code: str, *, iss: str | None = None) -> CompletedFlow:
        try:
            ctx = await self.resolver.resolve(flow.tenant_id, flow.connection_id)
            if iss is not None and ctx.endpoints.issuer is not None and iss != ctx.endpoints.issuer:
                # RFC 9207 §2.4: an iss that is present is checked even when the provider does not
                # promise to send one: a different issuer is a mix-up, and the code is not sent.
                await self._fail(flow.id, "issuer_mismatch")
                raise FlowError("the authorization response's iss does not match", code="issuer_mismatch")
            token_set = await self.provider.exchange_code(
                ctx.endpoints,
                ctx.oauth,
                ctx.client,
                code=code,
                redirect_uri=flow.redirect_uri,
                verifier=flow.code_verifier,
            )
            account_id, metadata = await self._post_connect(ctx, token_set)
            try:
                await self.store.store_initial(
                    ctx, token_set, external_account_id=account_id, metadata=metadata, flow_id=flow.id
                )
            except FlowRevoked:
                await self._revoke_unstored(ctx, token_set)
                raise
        except OAuthProviderError as exc:
            await self._fail(flow.id, exc.error[:64])
            log.warning("code exchange failed", extra={"flow_id": str(flow.id), "error": exc.error})
            status = 502 if exc.retryable else 400
            raise FlowError(
                f"the provider refused the code exchange: {exc.error}",
                code="exchange_failed",
                status_code=status,
                details={"provider_error": exc.error},
            ) from None
        except FlowError:
            raise  # already finished with its own code
        except Exception:
            await self._fail(flow.id, "internal")
            raise
        return CompletedFlow(
            flow.id,
            flow.connection_id,
            flow.connector_id,
            account_id,
            flow.return_to,
            token_set.scopes or flow.scopes,
        )

    async def _revoke_unstored(self, ctx: OAuthContext, token_set: TokenSet) -> None:
        """The connection was revoked while this grant was being obtained: it is not stored, so
        revoke it at the provider too (best effort), or it would stay live there unseen."""
        grants: list[tuple[str | None, str | None]] = [(token_set.access_token, token_set.refresh_token)]
        user = token_set.extra_secrets.get("user_access_token")
        if user:  # Slack's user token is a grant of its own: revoking the bot token leaves it live
            grants.append((user, token_set.extra_secrets.get("user_refresh_token")))
        try:
            await revoke_each(
                self.provider,
                ctx,
                grants,
                failed=_UNSTORED_NOT_REVOKED,
            )
        except Exception as exc:  # reported in the log; the flow's answer is the revoke's 409
            log.warning(
                _UNSTORED_NOT_REVOKED, extra={"connection_id": str(ctx.info.id), "error": type(exc).__name__}
            )

    async def _post_connect(self, ctx: OAuthContext, token_set: TokenSet) -> tuple[str, dict[str, Any]]:
        """Atlassian cloud ids; the account behind the token (``external_account_id``)."""
        metadata: dict[str, Any] = dict(token_set.metadata)
        account_id = token_set.external_account_id
        name = token_set.external_account_name
        if ctx.oauth.profile == "atlassian":
            url = str(ctx.info.config.get("oauth_resources_url") or ATLASSIAN_RESOURCES)
            await check_url(url, allowlist=self.resolver.allowlist)
            resources = await self.provider.get_json(url, token_set.access_token)
            sites = [
                {"id": r.get("id"), "name": r.get("name"), "url": r.get("url"), "scopes": r.get("scopes", [])}
                for r in resources or []
                if isinstance(r, dict)
            ]
            if not sites:
                raise OAuthProviderError("no_accessible_resources", "the token grants access to no site")
            metadata["sites"] = sites
            metadata["cloud_id"] = ctx.info.config.get("cloud_id") or sites[0]["id"]
        if ctx.endpoints.identity_url:
            if ctx.endpoints.identity_url != ctx.oauth.identity_url:
                await check_url(ctx.endpoints.identity_url, allowlist=self.resolver.allowlist)
            headers = {"Notion-Version": "2022-06-28"} if ctx.oauth.profile == "notion" else None
            identity = await self.provider.get_json(
                ctx.endpoints.identity_url, token_set.access_token, extra_headers=headers
            )
            account_id = _dotted(identity, ctx.oauth.identity_id_field) or account_id
            if ctx.oauth.identity_name_field:
                name = _dotted(identity, ctx.oauth.identity_name_field) or name
        if name:
            metadata["external_account_name"] = name
        return account_id or "unknown", metadata


def _dotted(data: Any, path: str) -> str | None:
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return None if data is None else str(data)


def _start_unusable(reason: str) -> FlowError:
    if reason == "revoked":
        return FlowRevoked()
    message, code, status = {
        "used": ("this start link was already used; start a new connection", "start_link_used", 409),
        "expired": ("this start link expired; start a new connection", "start_link_expired", 400),
        "unknown": ("unknown start link", "start_link_invalid", 400),
    }[reason]
    return FlowError(message, code=code, status_code=status)


def _unclaimable(reason: str) -> FlowError:
    if reason == "other_user":
        return FlowError(
            "this flow was started by another user; only they can complete it",
            code="flow_user_mismatch",
            status_code=403,
        )
    if reason == "browser_bound":
        return FlowError(
            "this flow's start link was opened in a browser: it completes at the callback, in that browser",
            code="flow_browser_bound",
            status_code=409,
        )
    messages = {
        "used": ("this authorization response was already used", "state_reused"),
        "expired": ("the authorization flow expired; start a new one", "flow_expired"),
        "unknown": ("unknown authorization state", "state_unknown"),
    }
    if reason == "revoked":
        return FlowRevoked()
    message, code = messages[reason]
    return FlowError(message, code=code)
