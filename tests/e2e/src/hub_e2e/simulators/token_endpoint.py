"""``POST`` token endpoint (RFC 6749 §4.1.3, §4.4, §6; RFC 7636 §4.5), formats per flavor."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub_e2e.simulators.config import Client
from hub_e2e.simulators.errors import About, OAuthError, invalid_grant, invalid_request
from hub_e2e.simulators.faults import fault_response
from hub_e2e.simulators.flavors import parse_scope
from hub_e2e.simulators.httpio import Params, authenticate_client, read_params
from hub_e2e.simulators.state import Simulator, sim_of, take_fault
from hub_e2e.simulators.store import Issued


def _requested_scope(sim: Simulator, params: Params) -> tuple[str, ...] | None:
    raw = params.get("scope")
    if raw is None or not sim.flavor.uses_scopes:
        return None
    return parse_scope(raw, sim.flavor.scope_separator)


def _grant(sim: Simulator, client: Client, grant_type: str, params: Params) -> list[Issued]:
    store, flavor, settings = sim.store, sim.flavor, sim.settings
    if grant_type == "authorization_code":
        code = store.redeem_code(
            client, params.get("code"), params.get("redirect_uri"), params.get("code_verifier")
        )
        # One family per token kind: Slack can mint a bot and a user token from one code.
        return [
            store.issue_from_code(code, kind, flavor.policy(settings, kind, scope))
            for kind, scope in code.scopes.items()
        ]
    if grant_type == "refresh_token":
        return [
            store.refresh(
                client,
                params.get("refresh_token"),
                _requested_scope(sim, params),
                lambda family: flavor.policy(settings, family.kind, family.scope),
            )
        ]
    scope = _requested_scope(sim, params) or ()
    if client.scopes is not None and not set(scope) <= set(client.scopes):
        raise OAuthError("invalid_scope", "scope not allowed for this client", about="scope")
    return [store.issue_client_credentials(client, scope, flavor.policy(settings, "client", scope))]


async def token(request: Request) -> Response:
    sim = sim_of(request)
    flavor = sim.flavor
    params, parse_error, grant_type = Params({}), None, None
    try:
        params = await read_params(request, flavor.token_formats)
        grant_type = params.get("grant_type") or flavor.implied_grant_type
    except OAuthError as err:
        parse_error = err
    sim.store.stats.token_calls[grant_type or "missing"] += 1
    try:
        fault = take_fault(sim, "token", grant_type)
        if fault is not None and fault.action == "invalid_grant":
            about: About = "refresh_token" if grant_type == "refresh_token" else "code"
            raise invalid_grant("injected fault", about=about)
        if fault is not None and (replacement := await fault_response(fault)) is not None:
            return replacement
        if parse_error is not None:
            raise parse_error
        client = authenticate_client(request, params, flavor.token_auth_methods, sim.store.clients)
        if grant_type is None:
            raise invalid_request("grant_type is required", about="grant_type")
        if grant_type not in flavor.grant_types:
            raise OAuthError(
                "unsupported_grant_type", f"grant_type {grant_type!r} is not supported", about="grant_type"
            )
        async with sim.lock:
            issued = _grant(sim, client, grant_type, params)
    except OAuthError as err:
        sim.store.stats.token_errors[err.error] += 1
        return flavor.token_error(request, err)
    sim.store.stats.token_successes[grant_type] += 1
    return flavor.token_success(request, issued, grant_type)
