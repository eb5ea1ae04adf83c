"""The Integration Manager UI at ``/ui`` (docs/adr/0029): server-rendered HTML forms, no
JavaScript needed, every asset served from this package. Each page calls the same use cases as
the ``/v1`` API, as the signed-in user."""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from hub_common.errors import HubError
from hub_common.license import policy_for
from hub_connector_sdk import AuthenticationMethod
from hub_connectors.api.ui.session import (
    COOKIE,
    LOGIN_COOKIE,
    PATH,
    checked_form,
    cookie_args,
    same_origin,
    session_of,
)
from hub_connectors.domain.errors import AutomationNotFound, ConnectionNotFound
from hub_connectors.domain.states import ConnectionStatus
from hub_connectors.services.automations import AutomationSpec
from hub_connectors.services.ui_sessions import UiSession

router = APIRouter(prefix=PATH, include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

# What a status means, in words (never colour alone) and the badge's look.
STATUS_TEXT = {
    "active": ("✓", "Active", "ok"),
    "initializing": ("…", "Waiting for authorization", "wait"),
    "token_expired": ("!", "Token expired", "warn"),
    "token_invalid": ("✗", "Credentials rejected", "bad"),
    "error": ("✗", "Error", "bad"),
    "disconnected": ("\u2013", "Disconnected", "off"),
    "succeeded": ("✓", "Succeeded", "ok"),
    "running": ("…", "Running", "wait"),
    "failed": ("✗", "Failed", "bad"),
    "template_error": ("✗", "Template error", "bad"),
    "invalid_parameters": ("✗", "Invalid parameters", "bad"),
    "loop_suspected": ("!", "Stopped: loop suspected", "warn"),
    "interrupted": ("!", "Interrupted", "warn"),
    "success": ("✓", "Success", "ok"),
    "failure": ("✗", "Failure", "bad"),
}
templates.env.globals["STATUS_TEXT"] = STATUS_TEXT
# JSON for people (autoescaped by the template like any text), not for a <script> element.
templates.env.filters["pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _c(request: Request) -> Any:
    return request.app.state.container


def _page(
    request: Request, template: str, session: UiSession | None, status_code: int = 200, **context: Any
) -> Response:
    context.update(
        session=session,
        csrf=session.csrf_token if session else None,
        notice=request.query_params.get("notice"),
        path=request.url.path,
    )
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def _go(url: str, notice: str | None = None) -> RedirectResponse:
    if notice:
        url += ("&" if "?" in url else "?") + urlencode({"notice": notice})
    return RedirectResponse(url, status_code=303)


def _uuid(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


def _known_id(value: str, not_found: type[ConnectionNotFound] | type[AutomationNotFound]) -> UUID:
    """A path id; a malformed one is just an id that does not exist here."""
    parsed = _uuid(value)
    if parsed is None:
        raise not_found()
    return parsed


def _ui_url(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + PATH + path


# -- sign-in ---------------------------------------------------------------------------------------


@router.get("")
@router.get("/")
async def home(request: Request) -> Response:
    session = await session_of(request)
    del session
    return _go(f"{PATH}/connections")


@router.get("/login")
async def login_page(request: Request, error: str | None = None) -> Response:
    value = secrets.token_urlsafe(24)
    response = _page(request, "login.html", None, login_csrf=value, error=error)
    response.set_cookie(LOGIN_COOKIE, value, **cookie_args(request, 900))
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    sent, expected = form.get("login_csrf"), request.cookies.get(LOGIN_COOKIE)
    if (
        not same_origin(request)
        or not isinstance(sent, str)
        or not expected
        or not secrets.compare_digest(sent.encode(), expected.encode())
    ):
        return _go(f"{PATH}/login?" + urlencode({"error": "The sign-in form expired; try again."}))
    token = str(form.get("token") or "").strip().removeprefix("Bearer ").strip()
    authenticator = request.app.state.authenticator
    try:
        await authenticator.fetch_keys(token)
        principal = authenticator.verify_user(token)
    except HubError as exc:
        return _go(f"{PATH}/login?" + urlencode({"error": f"Sign-in refused: {exc.message}"}))
    cookie, session = await _c(request).ui_sessions.sign_in(principal)
    await _c(request).tenants.observe(session.caller)
    response = _go(f"{PATH}/connections")
    ttl = int((session.expires_at - datetime.now(UTC)).total_seconds())
    response.set_cookie(COOKIE, cookie, **cookie_args(request, ttl))
    response.delete_cookie(LOGIN_COOKIE, path=PATH)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    session = await session_of(request)
    await checked_form(request, session)
    await _c(request).ui_sessions.sign_out(request.cookies.get(COOKIE))
    response = _go(f"{PATH}/login")
    response.delete_cookie(COOKIE, path=PATH)
    return response


# -- connections -----------------------------------------------------------------------------------


def _connectors(request: Request, allowed: tuple[str, ...] | None = None) -> list[Any]:
    found = [r.manifest for r in _c(request).registry.all()]
    if allowed is not None:
        found = [m for m in found if m.id in allowed]
    return sorted(found, key=lambda m: m.name.lower())


@router.get("/connections")
async def connections_page(request: Request, connector: str = "", category: str = "") -> Response:
    session = await session_of(request)
    found = await _c(request).connections.list(
        session.caller, category=category or None, include_disconnected=False
    )
    if connector:
        found = [c for c in found if c.connector_id == connector]
    end_users = await _c(request).ui_sessions.end_users(session.caller)
    categories = sorted({m.category for m in _connectors(request)})
    return _page(
        request,
        "connections.html",
        session,
        connections=found,
        end_users=end_users,
        connectors=_connectors(request),
        categories=categories,
        connector=connector,
        category=category,
    )


@router.get("/connections/new")
async def new_connection_picker(request: Request, category: str = "") -> Response:
    session = await session_of(request)
    connectors = [m for m in _connectors(request) if not category or m.category == category]
    categories = sorted({m.category for m in _connectors(request)})
    return _page(
        request,
        "picker.html",
        session,
        connectors=connectors,
        categories=categories,
        category=category,
        form_base=f"{PATH}/connections/new",
    )


def _manifest(request: Request, connector_id: str, allowed: tuple[str, ...] | None = None) -> Any:
    registered = _c(request).registry.get(connector_id)
    if registered is None or (allowed is not None and connector_id not in allowed):
        return None
    return registered.manifest


def _config_fields(manifest: Any) -> list[dict[str, Any]]:
    schema = manifest.api.config_schema or {}
    required = set(schema.get("required", []))
    return [
        {
            "key": key,
            "label": prop.get("title") or key.replace("_", " ").capitalize(),
            "required": key in required,
            "description": prop.get("description"),
            "pattern": prop.get("pattern"),
            "enum": prop.get("enum"),
        }
        for key, prop in (schema.get("properties") or {}).items()
    ]


def _connection_form(
    request: Request, session: UiSession, manifest: Any, *, action: str, **extra: Any
) -> Response:
    return _page(
        request,
        "connection_form.html",
        session,
        manifest=manifest,
        is_oauth=manifest.auth.method is AuthenticationMethod.OAUTH2,
        config_fields=_config_fields(manifest),
        form_action=action,
        **extra,
    )


@router.get("/connections/new/{connector_id}")
async def new_connection_form(request: Request, connector_id: str) -> Response:
    session = await session_of(request)
    manifest = _manifest(request, connector_id)
    if manifest is None:
        return _page(request, "error.html", session, 404, message=f"No connector {connector_id!r}.")
    return _connection_form(request, session, manifest, action=f"{PATH}/connections/new/{connector_id}")


async def _create_from_form(
    request: Request, session: UiSession, manifest: Any, form: Any, *, return_to: str
) -> tuple[Any, str | None]:
    """The connection the form asks for; and where the browser goes next for OAuth."""
    config = {
        f["key"]: str(form.get(f"config.{f['key']}"))
        for f in _config_fields(manifest)
        if form.get(f"config.{f['key']}")
    }
    is_oauth = manifest.auth.method is AuthenticationMethod.OAUTH2
    credentials = None
    if manifest.auth.method in (
        AuthenticationMethod.API_KEY,
        AuthenticationMethod.BASIC,
        AuthenticationMethod.BEARER,
    ):
        credentials = {
            f.key: str(form.get(f"cred.{f.key}") or "")
            for f in manifest.auth.fields
            if form.get(f"cred.{f.key}")
        }
    name = str(form.get("name") or "").strip() or manifest.name
    connection, _ = await _c(request).connections.create(
        session.caller, connector_id=manifest.id, name=name, config=config, credentials=credentials
    )
    await _c(request).ui_sessions.tag(session, connection.id)
    if not is_oauth:
        return connection, None
    start = await _c(request).oauth_flows.start(
        session.tenant_id, session.user_id, connection.id, return_to.format(id=connection.id)
    )
    return connection, start


@router.post("/connections/new/{connector_id}")
async def create_connection(request: Request, connector_id: str) -> Response:
    session = await session_of(request)
    form = await checked_form(request, session)
    manifest = _manifest(request, connector_id)
    if manifest is None:
        return _page(request, "error.html", session, 404, message=f"No connector {connector_id!r}.")
    try:
        connection, start = await _create_from_form(
            request, session, manifest, form, return_to=_ui_url(request, "/connections/{id}")
        )
    except HubError as exc:
        return _connection_form(
            request,
            session,
            manifest,
            action=f"{PATH}/connections/new/{connector_id}",
            error=exc,
            values=form,
        )
    if start:
        return RedirectResponse(start, status_code=303)
    return _go(
        f"{PATH}/connections/{connection.id}", f"{connection.name}: {STATUS_TEXT[str(connection.status)][1]}"
    )


async def _activity(
    request: Request,
    session: UiSession,
    connection_id: UUID | None,
    limit: int = 10,
    event_type: str | None = None,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None, str | None]:
    """Audit rows, the next cursor, or why there are none (a tier without an audit log)."""
    try:
        page = await _c(request).audit.query(
            session.caller,
            connection_id=connection_id,
            event_type=event_type,
            since=None,
            cursor=cursor,
            limit=limit,
        )
    except HubError as exc:
        return [], None, exc.message
    return page.entries, page.next_cursor, None


async def _neighbours(
    request: Request, session: UiSession, cid: UUID
) -> tuple[Any, str | None, list[Any], str | None]:
    """The gateway's rate-limit status and the webhooks service's registrations of a connection,
    asked at once; either one missing is said in words, the page renders anyway."""
    container = _c(request)
    limits: Any
    registrations: Any
    limits, registrations = await asyncio.gather(
        container.rate_limits.status(session.caller, cid),
        container.webhook_registrations.of_connection(session.caller, cid),
        return_exceptions=True,
    )
    for answer in (limits, registrations):
        if isinstance(answer, BaseException) and not isinstance(answer, HubError):
            raise answer
    limit_note = f"Not available: {limits.message}" if isinstance(limits, HubError) else None
    listed_note = f"Not available: {registrations.message}" if isinstance(registrations, HubError) else None
    return (
        None if limit_note else limits,
        limit_note,
        [] if listed_note else list(registrations),
        listed_note,
    )


@router.get("/connections/{connection_id}")
async def connection_detail(request: Request, connection_id: str) -> Response:
    session = await session_of(request)
    try:
        cid = _known_id(connection_id, ConnectionNotFound)
        connection = await _c(request).connections.get(session.caller, cid)
    except HubError as exc:
        return _page(request, "error.html", session, exc.status_code, message=exc.message)
    manifest = _manifest(request, connection.connector_id)
    exports = await _c(request).exports.list(session.caller, cid, limit=5)
    activity, _, activity_note = await _activity(request, session, cid)
    trigger_counts = await _c(request).connection_admin.trigger_counts(session.caller, cid)
    rate_limit, rate_limit_note, registrations, registrations_note = await _neighbours(request, session, cid)
    automations = [
        a
        for a in await _c(request).automations.list_all(session.caller)
        if cid in (a.trigger_connection_id, a.action_connection_id)
    ]
    return _page(
        request,
        "connection.html",
        session,
        connection=connection,
        manifest=manifest,
        exports=exports,
        activity=activity,
        activity_note=activity_note,
        automations=automations,
        trigger_counts=trigger_counts,
        rate_limit=rate_limit,
        rate_limit_note=rate_limit_note,
        registrations=registrations,
        registrations_note=registrations_note,
        webhook_triggers=[t for t in (manifest.triggers if manifest else []) if t.is_webhook_based],
        scopes=connection.metadata.get("scopes") or connection.metadata.get("granted_scopes"),
        connected=request.query_params.get("status") == "connected",
    )


@router.post("/connections/{connection_id}/rename")
async def rename_connection(request: Request, connection_id: str) -> Response:
    session = await session_of(request)
    form = await checked_form(request, session)
    try:
        cid = _known_id(connection_id, ConnectionNotFound)
        await _c(request).connection_admin.rename(session.caller, cid, str(form.get("name") or ""))
    except HubError as exc:
        return _go(f"{PATH}/connections/{connection_id}", f"Not renamed: {exc.message}")
    return _go(f"{PATH}/connections/{connection_id}", "Renamed.")


@router.post("/connections/{connection_id}/webhooks")
async def register_webhook(request: Request, connection_id: str) -> Response:
    """A registration of the chosen triggers; a manual one's URL, secret (shown this once) and
    steps are the answer itself, never a redirect (nothing of it lands in a URL or a log)."""
    session = await session_of(request)
    form = await checked_form(request, session)
    triggers = [str(t) for t in form.getlist("trigger_ids")]
    mode = "manual" if form.get("mode") == "manual" else "auto"
    try:
        cid = _known_id(connection_id, ConnectionNotFound)
        connection = await _c(request).connections.get(session.caller, cid)
        if not triggers:
            raise HubError("choose at least one trigger", code="validation_error", status_code=422)
        made = await _c(request).webhook_registrations.create(session.caller, cid, triggers, mode)
    except HubError as exc:
        return _go(f"{PATH}/connections/{connection_id}", f"Webhook not registered: {exc.message}")
    if made.mode != "manual":
        return _go(f"{PATH}/connections/{cid}", "Webhook registered at the provider.")
    return _page(
        request, "webhook_created.html", session, connection=connection, registration=made, automation=None
    )


@router.post("/connections/{connection_id}/webhooks/{registration_id}/{change}")
async def change_webhook(request: Request, connection_id: str, registration_id: str, change: str) -> Response:
    """Store the signing secret the provider issued, or delete the registration."""
    session = await session_of(request)
    form = await checked_form(request, session)
    back = f"{PATH}/connections/{connection_id}"
    rid = _uuid(registration_id)
    service = _c(request).webhook_registrations
    try:
        if rid is None or change not in ("secret", "delete"):
            raise HubError("no such webhook registration", code="registration_not_found", status_code=404)
        if change == "delete":
            await service.delete(session.caller, rid)
            return _go(back, "Webhook registration deleted.")
        await service.put_secret(session.caller, rid, str(form.get("secret") or ""))
    except HubError as exc:
        return _go(back, f"Not done: {exc.message}")
    return _go(back, "Signing secret stored.")


@router.post("/connections/{connection_id}/test")
async def test_connection(request: Request, connection_id: str) -> Response:
    session = await session_of(request)
    await checked_form(request, session)
    try:
        cid = _known_id(connection_id, ConnectionNotFound)
        connection, health = await _c(request).health.check(session.caller, cid)
    except HubError as exc:
        return _go(f"{PATH}/connections/{connection_id}", f"Test not run: {exc.message}")
    verdict = "passed" if health.is_healthy else f"failed: {health.message or connection.last_error}"
    return _go(f"{PATH}/connections/{connection_id}", f"Connection test {verdict}")


@router.post("/connections/{connection_id}/reconnect")
async def reconnect(request: Request, connection_id: str) -> Response:
    """OAuth: a new flow for the same connection. API keys: the credentials page."""
    session = await session_of(request)
    await checked_form(request, session)
    try:
        cid = _known_id(connection_id, ConnectionNotFound)
        connection = await _c(request).connections.get(session.caller, cid)
        if connection.auth_method != str(AuthenticationMethod.OAUTH2):
            return _go(f"{PATH}/credentials#c-{cid}", "Enter the new credentials below.")
        start = await _c(request).oauth_flows.start(
            session.tenant_id, session.user_id, cid, _ui_url(request, f"/connections/{cid}")
        )
    except HubError as exc:
        return _go(f"{PATH}/connections/{connection_id}", f"Reconnect failed: {exc.message}")
    return RedirectResponse(start, status_code=303)


@router.get("/connections/{connection_id}/disconnect")
async def confirm_disconnect(request: Request, connection_id: str) -> Response:
    session = await session_of(request)
    try:
        cid = _known_id(connection_id, ConnectionNotFound)
        connection = await _c(request).connections.get(session.caller, cid)
    except HubError as exc:
        return _page(request, "error.html", session, exc.status_code, message=exc.message)
    automations = [
        a
        for a in await _c(request).automations.list_all(session.caller)
        if cid in (a.trigger_connection_id, a.action_connection_id)
    ]
    return _page(request, "disconnect.html", session, connection=connection, automations=automations)


@router.post("/connections/{connection_id}/disconnect")
async def disconnect(request: Request, connection_id: str) -> Response:
    session = await session_of(request)
    await checked_form(request, session)
    try:
        cid = _known_id(connection_id, ConnectionNotFound)
        connection = await _c(request).connections.disconnect(session.caller, cid)
    except HubError as exc:
        return _go(f"{PATH}/connections", f"Not disconnected: {exc.message}")
    return _go(f"{PATH}/connections", f"{connection.name} disconnected.")


# -- credentials and license -----------------------------------------------------------------------


@router.get("/credentials")
async def credentials_page(request: Request) -> Response:
    session = await session_of(request)
    found = await _c(request).connections.list(session.caller, category=None, include_disconnected=False)
    rows = []
    for connection in found:
        manifest = _manifest(request, connection.connector_id)
        if manifest is None:
            continue
        method = manifest.auth.method
        secrets_kept = (
            ["access token", "refresh token"]
            if method is AuthenticationMethod.OAUTH2
            else [f.label for f in manifest.auth.fields]
        )
        rows.append(
            {
                "connection": connection,
                "manifest": manifest,
                "secrets": secrets_kept,
                "is_oauth": method is AuthenticationMethod.OAUTH2,
            }
        )
    return _page(request, "credentials.html", session, rows=rows)


@router.post("/connections/{connection_id}/credentials")
async def rotate_credentials(request: Request, connection_id: str) -> Response:
    session = await session_of(request)
    form = await checked_form(request, session)
    values = {k.removeprefix("cred."): str(v) for k, v in form.items() if k.startswith("cred.") and v}
    try:
        cid = _known_id(connection_id, ConnectionNotFound)
        connection = await _c(request).connection_admin.rotate(session.caller, cid, values)
    except HubError as exc:
        return _go(f"{PATH}/credentials", f"Credentials not changed: {exc.message}")
    return _go(
        f"{PATH}/credentials", f"{connection.name}: new credentials stored; status {connection.status}."
    )


@router.get("/license")
async def license_page(request: Request) -> Response:
    session = await session_of(request)
    described = await _c(request).license.describe(session.caller)
    from hub_common.license import TIERS

    return _page(
        request, "license.html", session, license=described, tiers=TIERS, policy=policy_for(session.tier)
    )


# -- activity --------------------------------------------------------------------------------------

EVENT_TYPES = (
    "integration.connected",
    "integration.disconnected",
    "integration.status-changed",
    "integration.action-executed",
    "credential.changed",
    "automation.run",
)


@router.get("/activity")
async def activity_page(
    request: Request, connection_id: str = "", event_type: str = "", cursor: str = ""
) -> Response:
    session = await session_of(request)
    cid = _uuid(connection_id)
    try:
        entries, next_cursor, note = await _activity(
            request, session, cid, limit=25, event_type=event_type or None, cursor=cursor or None
        )
    except HubError as exc:
        entries, next_cursor, note = [], None, exc.message
    found = await _c(request).connections.list(session.caller, category=None, include_disconnected=True)
    names = {c.id: c.name for c in found}
    next_url = None
    if next_cursor:
        next_url = f"{PATH}/activity?" + urlencode(
            {
                k: v
                for k, v in {
                    "connection_id": connection_id,
                    "event_type": event_type,
                    "cursor": next_cursor,
                }.items()
                if v
            }
        )
    return _page(
        request,
        "activity.html",
        session,
        entries=entries,
        note=note,
        names=names,
        connections=found,
        connection_id=connection_id,
        event_type=event_type,
        event_types=EVENT_TYPES,
        next_url=next_url,
        first_page=not cursor,
    )


# -- automations -----------------------------------------------------------------------------------


@router.get("/automations")
async def automations_page(request: Request) -> Response:
    session = await session_of(request)
    found = await _c(request).automations.list_all(session.caller)
    connections = await _c(request).connections.list(session.caller, category=None, include_disconnected=True)
    return _page(
        request, "automations.html", session, automations=found, names={c.id: c.name for c in connections}
    )


def _sample_for(schema: dict[str, Any] | None, defs: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A sample payload shaped like a trigger's payload schema (for the preview box); local
    ``$ref``s are followed."""
    schema = schema or {}
    defs = defs if defs is not None else schema.get("$defs", {})
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and depth < 8:
        return _sample_for(defs.get(ref.removeprefix("#/$defs/")), defs, depth + 1)
    for combined in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(combined) or [] if o.get("type") != "null"]
        if options:
            return _sample_for(options[0], defs, depth + 1)
    if "example" in schema:
        return schema["example"]
    if schema.get("examples"):
        return schema["examples"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {k: _sample_for(v, defs, depth + 1) for k, v in (schema.get("properties") or {}).items()}
    if schema.get("enum"):
        return schema["enum"][0]
    if kind == "array":
        return []
    return {"integer": 1, "number": 1.5, "boolean": True}.get(str(kind), "example")


def _parse_choice(value: str) -> tuple[UUID | None, str]:
    cid, _, item = value.partition(":")
    return _uuid(cid), item


def _parameters_from(form: Any, schema: dict[str, Any]) -> dict[str, Any]:
    """The mapping the builder's fields describe: text with ``{{ }}`` is a template; a value for
    a non-string parameter is read as JSON (``3``, ``true``, ``["a"]``) when it parses."""
    properties = schema.get("properties") or {}
    mapping: dict[str, Any] = {}
    for name, prop in properties.items():
        raw = form.get(f"param.{name}")
        if not isinstance(raw, str) or raw == "":
            continue
        if "{{" not in raw and prop.get("type") not in (None, "string"):
            try:
                mapping[name] = json.loads(raw)
                continue
            except ValueError:
                pass
        mapping[name] = raw
    return mapping


async def _builder(
    request: Request,
    session: UiSession,
    form: Any | None,
    *,
    automation: Any = None,
    preview: Any = None,
    error: HubError | None = None,
    status_code: int = 200,
) -> Response:
    source = form if form is not None else request.query_params
    found = await _c(request).connections.list(session.caller, category=None, include_disconnected=False)
    usable = [c for c in found if c.status is not ConnectionStatus.DISCONNECTED]
    manifests = {c.id: _manifest(request, c.connector_id) for c in usable}
    trigger_choice = str(source.get("trigger") or "")
    action_choice = str(source.get("action") or "")
    if automation is not None and not trigger_choice:
        trigger_choice = f"{automation.trigger_connection_id}:{automation.trigger_id}"
        action_choice = f"{automation.action_connection_id}:{automation.action_id}"
    t_cid, trigger_id = _parse_choice(trigger_choice)
    a_cid, action_id = _parse_choice(action_choice)
    trigger = manifests[t_cid].trigger(trigger_id) if manifests.get(t_cid) else None
    action = manifests[a_cid].action(action_id) if manifests.get(a_cid) else None
    values: dict[str, str] = {}
    if form is not None:
        values = {k.removeprefix("param."): str(v) for k, v in form.items() if k.startswith("param.")}
    elif automation is not None:
        values = {k: v if isinstance(v, str) else json.dumps(v) for k, v in automation.parameters.items()}
    sample = str(source.get("sample_payload") or "") or json.dumps(
        _sample_for(trigger.payload_schema if trigger else None), indent=2
    )
    return _page(
        request,
        "builder.html",
        session,
        status_code,
        connections=usable,
        manifests=manifests,
        trigger_choice=trigger_choice,
        action_choice=action_choice,
        trigger=trigger,
        action=action,
        values=values,
        sample=sample,
        preview=preview,
        error=error,
        automation=automation,
        name=str(source.get("name") or (automation.name if automation else "")),
        enabled=(automation.enabled if automation is not None else True),
    )


@router.get("/automations/new")
async def new_automation(request: Request) -> Response:
    session = await session_of(request)
    return await _builder(request, session, None)


async def _save_or_preview(request: Request, automation_id: UUID | None) -> Response:
    session = await session_of(request)
    form = await checked_form(request, session)
    existing = await _c(request).automations.get(session.caller, automation_id) if automation_id else None
    t_cid, trigger_id = _parse_choice(str(form.get("trigger") or ""))
    a_cid, action_id = _parse_choice(str(form.get("action") or ""))
    intent = str(form.get("intent") or "choose")
    if t_cid is None or a_cid is None or not trigger_id or not action_id or intent == "choose":
        return await _builder(request, session, form, automation=existing)
    connection = await _c(request).connections.get(session.caller, a_cid)
    manifest = _manifest(request, connection.connector_id)
    action = manifest.action(action_id) if manifest else None
    if action is None:
        return await _builder(request, session, form, automation=existing)
    spec = AutomationSpec(
        name=str(form.get("name") or "").strip() or "Untitled automation",
        trigger_connection_id=t_cid,
        trigger_id=trigger_id,
        action_connection_id=a_cid,
        action_id=action_id,
        parameters=_parameters_from(form, action.parameters_schema),
        enabled=form.get("enabled") == "on",
    )
    try:
        sample = json.loads(str(form.get("sample_payload") or "{}"))
        if not isinstance(sample, dict):
            raise ValueError
    except ValueError:
        error = HubError("the sample payload is not a JSON object", code="invalid_sample", status_code=422)
        return await _builder(request, session, form, automation=existing, error=error, status_code=422)
    service = _c(request).automations
    try:
        if intent == "preview":
            preview = await service.preview(session.caller, spec, sample)
            return await _builder(request, session, form, automation=existing, preview=preview)
        if existing is not None:
            saved = await service.replace(session.caller, existing.id, spec, sample_payload=sample)
        else:
            saved = await service.create(session.caller, spec, sample_payload=sample)
    except HubError as exc:
        return await _builder(
            request, session, form, automation=existing, error=exc, status_code=exc.status_code
        )
    webhook = saved.webhook
    if webhook is not None and webhook.created and webhook.registration.mode == "manual":
        # One more step for the user: the provider's settings (URL, secret shown this once).
        connection = await _c(request).connections.get(session.caller, t_cid)
        return _page(
            request,
            "webhook_created.html",
            session,
            connection=connection,
            registration=webhook.registration,
            automation=saved.automation,
        )
    notice = "Automation saved."
    if webhook is not None and webhook.created:
        notice += " Its webhook was registered at the provider."
    return _go(f"{PATH}/automations/{saved.automation.id}", notice)


@router.post("/automations/new")
async def create_automation(request: Request) -> Response:
    return await _save_or_preview(request, None)


@router.get("/automations/{automation_id}")
async def automation_detail(request: Request, automation_id: str) -> Response:
    session = await session_of(request)
    try:
        aid = _known_id(automation_id, AutomationNotFound)
        automation = await _c(request).automations.get(session.caller, aid)
        runs = await _c(request).automations.runs(session.caller, aid, limit=25)
    except HubError as exc:
        return _page(request, "error.html", session, exc.status_code, message=exc.message)
    connections = await _c(request).connections.list(session.caller, category=None, include_disconnected=True)
    return _page(
        request,
        "automation.html",
        session,
        automation=automation,
        runs=runs,
        names={c.id: c.name for c in connections},
    )


@router.get("/automations/{automation_id}/edit")
async def edit_automation(request: Request, automation_id: str) -> Response:
    session = await session_of(request)
    try:
        aid = _known_id(automation_id, AutomationNotFound)
        automation = await _c(request).automations.get(session.caller, aid)
    except HubError as exc:
        return _page(request, "error.html", session, exc.status_code, message=exc.message)
    return await _builder(request, session, None, automation=automation)


@router.post("/automations/{automation_id}/edit")
async def save_automation(request: Request, automation_id: str) -> Response:
    aid = _uuid(automation_id)
    if aid is None:
        return _go(f"{PATH}/automations", "No such automation.")
    return await _save_or_preview(request, aid)


@router.post("/automations/{automation_id}/{change}")
async def change_automation(request: Request, automation_id: str, change: str) -> Response:
    session = await session_of(request)
    await checked_form(request, session)
    aid = _uuid(automation_id)
    service = _c(request).automations
    try:
        if aid is None or change not in ("enable", "disable", "delete"):
            raise HubError("no such automation", code="automation_not_found", status_code=404)
        if change == "delete":
            await service.delete(session.caller, aid)
            return _go(f"{PATH}/automations", "Automation deleted.")
        await service.set_enabled(session.caller, aid, change == "enable")
    except HubError as exc:
        return _go(f"{PATH}/automations", exc.message)
    return _go(f"{PATH}/automations/{aid}", "Enabled." if change == "enable" else "Disabled.")


# -- connect sessions (end users, no hub login) ----------------------------------------------------


@router.get("/connect")
async def open_connect(request: Request, token: str = "") -> Response:
    opened = await _c(request).ui_sessions.open_connect(token)
    if opened is None:
        return _page(
            request,
            "error.html",
            None,
            410,
            message="This connect link has expired or was already used. "
            "Ask the app that sent you for a new one.",
        )
    cookie, session = opened
    response = _go(f"{PATH}/connect/start")
    ttl = int((session.expires_at - datetime.now(UTC)).total_seconds())
    response.set_cookie(COOKIE, cookie, **cookie_args(request, ttl))
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/connect/start")
async def connect_start(request: Request) -> Response:
    session = await session_of(request, connect=True)
    return _page(
        request,
        "picker.html",
        session,
        connectors=_connectors(request, session.allowed_connectors),
        categories=[],
        category="",
        form_base=f"{PATH}/connect/new",
    )


@router.get("/connect/new/{connector_id}")
async def connect_form(request: Request, connector_id: str) -> Response:
    session = await session_of(request, connect=True)
    manifest = _manifest(request, connector_id, session.allowed_connectors)
    if manifest is None:
        return _page(request, "error.html", session, 404, message="This connector is not offered here.")
    return _connection_form(request, session, manifest, action=f"{PATH}/connect/new/{connector_id}")


@router.post("/connect/new/{connector_id}")
async def connect_create(request: Request, connector_id: str) -> Response:
    session = await session_of(request, connect=True)
    form = await checked_form(request, session)
    manifest = _manifest(request, connector_id, session.allowed_connectors)
    if manifest is None:
        return _page(request, "error.html", session, 404, message="This connector is not offered here.")
    try:
        connection, start = await _create_from_form(
            request, session, manifest, form, return_to=_ui_url(request, "/connect/done?id={id}")
        )
    except HubError as exc:
        return _connection_form(
            request, session, manifest, action=f"{PATH}/connect/new/{connector_id}", error=exc, values=form
        )
    if start:
        return RedirectResponse(start, status_code=303)
    return _go(f"{PATH}/connect/done?id={connection.id}")


@router.get("/connect/done")
async def connect_done(request: Request, id: str = "") -> Response:
    session = await session_of(request, connect=True)
    cid = _uuid(id) or _uuid(request.query_params.get("connection_id"))
    connection = None
    if cid is not None:
        try:
            connection = await _c(request).connections.get(session.caller, cid)
        except HubError:
            connection = None
    return _page(request, "connect_done.html", session, connection=connection, return_to=session.return_to)


async def login_redirect(request: Request, exc: Exception) -> Response:
    """LoginRequired → the sign-in page (connect pages: the expired-link page)."""
    if request.url.path == f"{PATH}/connect" or request.url.path.startswith(f"{PATH}/connect/"):
        return _page(
            request,
            "error.html",
            None,
            401,
            message="Your connect session has ended. Ask the app that sent you for a new link.",
        )
    return _go(f"{PATH}/login")


async def ui_error(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, HubError)
    response = _page(request, "error.html", None, exc.status_code, message=exc.message)
    assert isinstance(response, HTMLResponse)
    return response
