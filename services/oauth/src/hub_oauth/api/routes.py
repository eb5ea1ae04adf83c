"""``/v1/oauth/*``: apps, flows, callback, refresh, revoke, token info, credential capture."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from uuid import UUID

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from hub_common.errors import BadRequest, Forbidden, HubError, NotFound
from hub_common.web.auth import AnyPrincipal, Principal, UserPrincipal
from hub_common.web.responses import JsonResponse
from hub_oauth.api import schemas
from hub_oauth.api.deps import ContainerDep, acting_tenant
from hub_oauth.domain import binding
from hub_oauth.domain.apps import with_query
from hub_oauth.services.apps import AppRow

router = APIRouter(prefix="/v1/oauth", tags=["oauth"])


@router.put("/apps/{connector_id}", response_model=schemas.AppOut, responses={201: {"model": schemas.AppOut}})
async def put_app(
    connector_id: str, body: schemas.AppIn, user: UserPrincipal, c: ContainerDep, response: Response
) -> schemas.AppOut:
    """Register (or replace) this tenant's OAuth app; the secret goes to the vault, never back out."""
    assert user.tenant_id is not None
    app = AppRow(user.tenant_id, connector_id, body.client_id, body.redirect_uri, body.scopes or [])
    created = await c.apps.put(app, body.client_secret)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    _, has_secret = await c.apps.get(user.tenant_id, connector_id)
    return schemas.AppOut(
        connector_id=connector_id,
        client_id=app.client_id,
        redirect_uri=app.redirect_uri,
        scopes=app.scopes,
        has_client_secret=has_secret,
    )


@router.get("/apps/{connector_id}", response_model=schemas.AppOut)
async def get_app(connector_id: str, user: UserPrincipal, c: ContainerDep) -> schemas.AppOut:
    assert user.tenant_id is not None
    app, has_secret = await c.apps.get(user.tenant_id, connector_id)
    if app is None:
        raise NotFound(f"no OAuth app registered for {connector_id}", code="oauth_app_not_found")
    return schemas.AppOut(
        connector_id=connector_id,
        client_id=app.client_id,
        redirect_uri=app.redirect_uri,
        scopes=app.scopes,
        has_client_secret=has_secret,
    )


@router.delete("/apps/{connector_id}", status_code=204)
async def delete_app(connector_id: str, user: UserPrincipal, c: ContainerDep) -> Response:
    assert user.tenant_id is not None
    if not await c.apps.delete(user.tenant_id, connector_id):
        raise NotFound(f"no OAuth app registered for {connector_id}", code="oauth_app_not_found")
    return Response(status_code=204)


def _flow_starter(principal: Principal, body: schemas.FlowIn) -> Principal:
    """The user a flow is for: the caller, or the user the connectors service names (its UI and
    connect sessions, docs/adr/0029), who then completes it in the browser bound to the flow."""
    if not principal.is_service:
        return principal
    if principal.service_id != "connectors":
        raise Forbidden(f"service {principal.service_id} may not start flows", code="service_not_allowed")
    if not body.tenant_id or not body.user_id:
        raise BadRequest(
            "tenant_id and user_id are required when a service starts a flow", code="user_required"
        )
    return Principal("user", tenant_id=body.tenant_id, user_id=body.user_id)


@router.post("/flows", response_model=schemas.FlowOut, status_code=201)
async def start_flow(body: schemas.FlowIn, principal: AnyPrincipal, c: ContainerDep) -> schemas.FlowOut:
    started = await c.flows.start(
        _flow_starter(principal, body),
        body.connection_id,
        scopes=body.scopes,
        additional=body.additional_parameters,
        return_to=body.return_to,
    )
    return schemas.FlowOut(
        flow_id=started.flow_id,
        start_url=started.start_url,
        start_expires_at=started.start_expires_at,
        authorization_url=started.authorization_url,
        expires_at=started.expires_at,
    )


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2933}}
code{{background:#f0f4f8;padding:.1rem .3rem}}
</style></head><body><h1>{title}</h1><p>{message}</p><p>Error code: <code>{code}</code></p>
<p><a href="{ui}">Back to Integration Hub</a></p></body></html>"""


# The start link and the callback carry one-time secrets in their URLs: never cached, and never
# passed on as a Referer (the error page links back to the UI).
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _error_response(request: Request, c: ContainerDep, exc: HubError) -> Response:
    if not _wants_html(request):
        raise exc
    page = _PAGE.format(
        title="Connection not completed",
        message=html.escape(exc.message),
        code=html.escape(exc.code),
        ui=html.escape(c.settings.oauth_ui_url),
    )
    return HTMLResponse(page, status_code=exc.status_code, headers=_PRIVATE)


@router.get("/flows/{flow_id}/start", response_model=None)
async def open_start_link(
    request: Request, flow_id: UUID, c: ContainerDep, start_token: str | None = None
) -> Response:
    """The flow's one-time start link, opened by the user's browser (no bearer token: a top-level
    navigation). Binds the flow to this browser with an HttpOnly cookie, then 303 to the provider."""
    try:
        opened = await c.flows.open_start(flow_id, start_token)
    except HubError as exc:
        return _error_response(request, c, exc)
    response = RedirectResponse(opened.authorization_url, status_code=303, headers=_PRIVATE)
    response.set_cookie(
        binding.cookie_name(opened.flow_id),
        opened.binding,
        max_age=max(1, int((opened.expires_at - datetime.now(UTC)).total_seconds())),
        path=c.settings.callback_path,  # sent only to the callback
        secure=c.settings.binding_cookie_secure,
        httponly=True,
        samesite="lax",  # sent on the provider's top-level redirect back, not on cross-site posts
    )
    return response


@router.get("/callback", include_in_schema=True, response_model=None)
async def callback(
    request: Request,
    c: ContainerDep,
    code: str | None = None,
    state: str | None = None,
    iss: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    """The provider's redirect. Browsers get a redirect (or an HTML error page), API clients JSON."""
    try:
        done = await c.flows.callback(
            code=code,
            state=state,
            iss=iss,
            error=error,
            error_description=error_description,
            cookies=request.cookies,
        )
    except HubError as exc:
        return _error_response(request, c, exc)
    response: Response
    if _wants_html(request):
        target = done.return_to or c.settings.oauth_ui_url
        params = {"connection_id": str(done.connection_id), "status": "connected"}
        response = RedirectResponse(with_query(target, params), status_code=303, headers=_PRIVATE)
    else:
        response = JsonResponse(
            schemas.ConnectedOut(
                flow_id=done.flow_id,
                connection_id=done.connection_id,
                connector_id=done.connector_id,
                external_account_id=done.external_account_id,
                scopes=done.scopes,
            ).model_dump(mode="json"),
            headers=_PRIVATE,
        )
    # The binding did its work; the browser need not keep it.
    response.delete_cookie(
        binding.cookie_name(done.flow_id),
        path=c.settings.callback_path,
        secure=c.settings.binding_cookie_secure,
        httponly=True,
        samesite="lax",
    )
    return response


@router.post("/flows/{flow_id}/exchange", response_model=schemas.ConnectedOut)
async def exchange(
    flow_id: UUID, body: schemas.ExchangeIn, user: UserPrincipal, c: ContainerDep
) -> schemas.ConnectedOut:
    done = await c.flows.exchange(user, flow_id, body.code, body.iss)
    return schemas.ConnectedOut(
        flow_id=done.flow_id,
        connection_id=done.connection_id,
        connector_id=done.connector_id,
        external_account_id=done.external_account_id,
        scopes=done.scopes,
    )


@router.post("/connections/{connection_id}/client-credentials")
async def client_credentials(connection_id: UUID, user: UserPrincipal, c: ContainerDep) -> JsonResponse:
    """Connect a client-credentials connector: mint its first token (re-minted before expiry)."""
    account = await c.flows.mint_client_credentials(user, connection_id)
    return JsonResponse(
        {"connection_id": str(connection_id), "status": "active", "external_account_id": account}
    )


@router.post("/connections/{connection_id}/refresh", response_model=schemas.RefreshOut)
async def refresh(
    connection_id: UUID, body: schemas.RefreshIn, principal: AnyPrincipal, c: ContainerDep
) -> schemas.RefreshOut:
    tenant = acting_tenant(principal, body.tenant_id)
    await c.resolver.connection(tenant, connection_id)  # 404 for other tenants' connections
    outcome = await c.refresher.refresh(
        tenant, connection_id, stale_token_sha256=body.stale_token_sha256, force=body.force
    )
    return schemas.RefreshOut(
        connection_id=connection_id,
        refreshed=outcome.refreshed,
        expires_at=outcome.expires_at,
        generation=outcome.generation,
        outcome=outcome.outcome,
        performed=outcome.performed,
        refreshed_at=outcome.refreshed_at,
    )


@router.post("/connections/{connection_id}/revoke", response_model=schemas.RevokeOut)
async def revoke(
    connection_id: UUID, body: schemas.ServiceScoped, principal: AnyPrincipal, c: ContainerDep
) -> schemas.RevokeOut:
    tenant = acting_tenant(principal, body.tenant_id)
    outcome = await c.revoker.revoke(tenant, connection_id)
    return schemas.RevokeOut(
        connection_id=connection_id,
        provider_revoked=outcome.provider_revoked,
        provider_error=outcome.provider_error,
        deleted_keys=outcome.deleted_keys,
    )


@router.get("/connections/{connection_id}/token", response_model=schemas.TokenInfoOut)
async def token_info(connection_id: UUID, user: UserPrincipal, c: ContainerDep) -> schemas.TokenInfoOut:
    """Token metadata (expiry, scopes, status) — never the token."""
    assert user.tenant_id is not None
    row = await c.store.metadata(user.tenant_id, connection_id)
    return schemas.TokenInfoOut(
        connection_id=row.connection_id,
        connector_id=row.connector_id,
        status=row.status,
        token_type=row.token_type,
        grant_type=row.grant_type,
        expires_at=row.expires_at,
        has_refresh_token=row.has_refresh_token,
        granted_scopes=row.granted_scopes,
        external_account_id=row.external_account_id,
        last_refreshed_at=row.last_refreshed_at,
        generation=row.generation,
        metadata=row.metadata,
    )


@router.post("/connections/{connection_id}/credentials")
async def capture_credentials(
    connection_id: UUID, body: schemas.CredentialsIn, user: UserPrincipal, c: ContainerDep
) -> JsonResponse:
    """API key / basic / bearer / custom credentials: validated, stored in the vault, health-checked."""
    assert user.tenant_id is not None
    result = await c.capture.capture(user.tenant_id, connection_id, body.credentials)
    return JsonResponse(result)
