"""Token revocation: RFC 7009 and the providers' own calls (GitHub, Slack, Linear)."""

from __future__ import annotations

import base64
import binascii
import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub_e2e.simulators.config import Client
from hub_e2e.simulators.crypto import secrets_equal
from hub_e2e.simulators.errors import OAuthError, invalid_request
from hub_e2e.simulators.httpio import authenticate_client, bearer_token, no_store_json, read_params
from hub_e2e.simulators.identity import SLACK_ERRORS, slack_token_param
from hub_e2e.simulators.state import Simulator, injected_fault, sim_of


async def _begin(request: Request) -> tuple[Simulator, Response | None]:
    sim = sim_of(request)
    sim.store.stats.revocation_calls += 1
    return sim, await injected_fault(sim, "revoke")


async def rfc7009(request: Request) -> Response:
    sim, early = await _begin(request)
    if early is not None:
        return early
    flavor = sim.flavor
    try:
        params = await read_params(request, flavor.revoke_formats)
        client = authenticate_client(request, params, flavor.token_auth_methods, sim.store.clients)
        token = params.get("token")
        if token is None:
            raise invalid_request("token is required")
        # token_type_hint is only a hint (RFC 7009 §2.1): the lookup covers both token types.
        async with sim.lock:
            owner = sim.store.owner_of(token)
            if owner is not None and owner != client.client_id:
                # RFC 7009 §2.1: the token must have been issued to the requesting client.
                raise OAuthError("unauthorized_client", "the token was issued to another client")
            if owner is not None:
                sim.store.revoke(token, whole_grant=flavor.revoke_ends_grant)
    except OAuthError as err:
        return flavor.token_error(request, err)
    # RFC 7009 §2.2: 200 whether or not the token was known; an invalid token is no error.
    return no_store_json({}) if flavor.revoke_answer_json else Response(status_code=200)


async def linear_revoke(request: Request) -> Response:
    """Linear documents ``POST /oauth/revoke`` authenticated by the access token itself; the
    RFC 7009 form (client credentials + ``token``) is served too."""
    if (value := bearer_token(request)) is None:
        return await rfc7009(request)
    sim, early = await _begin(request)
    if early is not None:
        return early
    async with sim.lock:
        if sim.store.valid_access_token(value) is None:
            return JSONResponse(
                {"error": "invalid_token", "error_description": "access token is not valid"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        sim.store.revoke(value, whole_grant=True)
    return Response(status_code=200)


def _github_client(request: Request, sim: Simulator) -> Client | Response:
    """GitHub's application endpoints take HTTP Basic with client_id:client_secret."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    decoded = ""
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
    client_id, _, secret = decoded.partition(":")
    client = sim.store.clients.get(client_id)
    if client is None or not secrets_equal(secret, client.client_secret):
        return JSONResponse(
            {
                "message": "Requires authentication",
                "documentation_url": "https://docs.github.com/rest/apps/oauth-applications",
            },
            status_code=401,
        )
    if client_id != request.path_params["client_id"]:
        return JSONResponse({"message": "Not Found"}, status_code=404)
    return client


async def _github_target(request: Request, sim: Simulator) -> tuple[Client, str] | Response:
    client = _github_client(request, sim)
    if isinstance(client, Response):
        return client
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        body = None
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        return JSONResponse(
            {
                "message": "Validation Failed",
                "errors": [{"resource": "Application", "field": "access_token", "code": "missing_field"}],
            },
            status_code=422,
        )
    if sim.store.owner_of(token) != client.client_id:
        return JSONResponse({"message": "Not Found"}, status_code=404)
    return client, token


async def github_delete_token(request: Request) -> Response:
    """``DELETE /applications/{client_id}/token`` {access_token} -> 204."""
    sim, early = await _begin(request)
    if early is not None:
        return early
    async with sim.lock:
        target = await _github_target(request, sim)
        if isinstance(target, Response):
            return target
        # A refresh invalidates "the old pair", so a token and its refresh token live and die together.
        sim.store.revoke(target[1], whole_grant=True)
    return Response(status_code=204)


async def github_delete_grant(request: Request) -> Response:
    """``DELETE /applications/{client_id}/grant`` {access_token}: every token of that user and app."""
    sim, early = await _begin(request)
    if early is not None:
        return early
    async with sim.lock:
        target = await _github_target(request, sim)
        if isinstance(target, Response):
            return target
        client, token = target
        subject = sim.store.access_tokens[token].subject if token in sim.store.access_tokens else None
        for family in list(sim.store.families.values()):
            if family.client_id == client.client_id and family.subject == subject:
                sim.store.revoke_family(family.id, "grant deleted")
        sim.store.revoke(token)
    return Response(status_code=204)


async def slack_auth_revoke(request: Request) -> Response:
    """``auth.revoke``: revokes the calling token (``test=1`` only pretends)."""
    sim, early = await _begin(request)
    if early is not None:
        return early
    value = await slack_token_param(request)
    async with sim.lock:
        token, status = sim.store.access_status(value)
        if token is None:
            return JSONResponse({"ok": False, "error": SLACK_ERRORS[status]})
        if request.query_params.get("test") in ("1", "true"):
            return JSONResponse({"ok": True, "revoked": False})
        sim.store.revoke(token.value, whole_grant=True)
    return JSONResponse({"ok": True, "revoked": True})
