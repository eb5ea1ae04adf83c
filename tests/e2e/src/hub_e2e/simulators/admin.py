"""Simulator administration under ``/_sim``: clients, settings, stats, reset, faults, token views.

Not part of any provider's API; tests and the hub's e2e fixtures drive the simulator with it.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub_e2e.simulators.config import Client, ConfigError
from hub_e2e.simulators.faults import Fault
from hub_e2e.simulators.state import sim_of


async def _json(request: Request, default: Any = None) -> Any:
    body = await request.body()
    if not body:
        return default
    try:
        return json.loads(body)
    except ValueError:
        raise ConfigError("body is not valid JSON") from None


def _bad(err: ConfigError) -> JSONResponse:
    return JSONResponse({"error": "bad_request", "detail": str(err)}, status_code=400)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "flavor": sim_of(request).flavor.name})


async def info(request: Request) -> Response:
    sim = sim_of(request)
    base = str(request.base_url).rstrip("/")
    endpoints = sim.flavor.endpoints
    return JSONResponse(
        {
            "flavor": sim.flavor.name,
            "issuer": sim.issuer(request),
            "authorization_endpoint": base + endpoints.authorize,
            "token_endpoint": base + endpoints.token,
            "revocation_endpoint": base + endpoints.revoke if endpoints.revoke else None,
            "token_endpoint_auth_methods": sorted(sim.flavor.token_auth_methods),
            "token_body_formats": sorted(sim.flavor.token_formats),
            "settings": sim.settings.as_dict(),
        }
    )


async def add_client(request: Request) -> Response:
    sim = sim_of(request)
    try:
        client = Client.from_json(await _json(request))
    except ConfigError as err:
        return _bad(err)
    sim.store.clients[client.client_id] = client  # upsert: re-registering replaces
    return JSONResponse(client.public_view(), status_code=201)


async def list_clients(request: Request) -> Response:
    return JSONResponse([c.public_view() for c in sim_of(request).store.clients.values()])


async def delete_client(request: Request) -> Response:
    removed = sim_of(request).store.clients.pop(request.path_params["client_id"], None)
    return Response(status_code=204 if removed else 404)


async def stats(request: Request) -> Response:
    return JSONResponse(sim_of(request).store.stats.as_dict())


async def reset(request: Request) -> Response:
    """Forget codes, tokens, counters and faults; ``{"clients": true}`` forgets clients too."""
    sim = sim_of(request)
    try:
        body = await _json(request, {})
    except ConfigError as err:
        return _bad(err)
    async with sim.lock:
        sim.reset(clients=bool(isinstance(body, dict) and body.get("clients")))
    return Response(status_code=204)


async def list_faults(request: Request) -> Response:
    return JSONResponse(sim_of(request).faults.view())


async def add_faults(request: Request) -> Response:
    """One fault object or a list of them, applied in order."""
    sim = sim_of(request)
    try:
        body = await _json(request)
        faults = [Fault.from_json(item) for item in (body if isinstance(body, list) else [body])]
    except ConfigError as err:
        return _bad(err)
    for fault in faults:
        sim.faults.add(fault)
    return JSONResponse(sim.faults.view(), status_code=201)


async def clear_faults(request: Request) -> Response:
    sim_of(request).faults.clear()
    return Response(status_code=204)


async def get_settings(request: Request) -> Response:
    return JSONResponse(sim_of(request).settings.as_dict())


async def patch_settings(request: Request) -> Response:
    sim = sim_of(request)
    try:
        changes = await _json(request, {})
        if not isinstance(changes, dict):
            raise ConfigError("settings are a JSON object")
        sim.settings.update(changes)
    except ConfigError as err:
        return _bad(err)
    return JSONResponse(sim.settings.as_dict())


async def introspect(request: Request) -> Response:
    """What the server knows about a token (family, state, expiry): for assertions in tests."""
    try:
        body = await _json(request, {})
    except ConfigError as err:
        return _bad(err)
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str):
        return _bad(ConfigError("token is required"))
    return JSONResponse(sim_of(request).store.introspect(token))


async def expire(request: Request) -> Response:
    """Make an access token (``token``) or every access token of a family (``family_id``) expire now."""
    sim = sim_of(request)
    try:
        body = await _json(request, {})
    except ConfigError as err:
        return _bad(err)
    target = body.get("token") or body.get("family_id") if isinstance(body, dict) else None
    if not isinstance(target, str):
        return _bad(ConfigError("token or family_id is required"))
    async with sim.lock:
        found = sim.store.expire(target)
    return Response(status_code=204 if found else 404)


async def families(request: Request) -> Response:
    store = sim_of(request).store
    return JSONResponse([store.family_view(f) for f in store.families.values()])


async def issued(request: Request) -> Response:
    """Every secret value this simulator knows (client secrets, tokens ever issued): the test
    run's secret scan looks for them where the hub writes (docs/adr/0034)."""
    store = sim_of(request).store
    values = [c.client_secret for c in store.clients.values()]
    values += list(store.access_tokens) + list(store.refresh_tokens)
    values += [t for f in store.families.values() for t in (*f.access_tokens, *f.refresh_tokens)]
    return JSONResponse(sorted(set(values)))


routes = [
    Route("/health", health, methods=["GET"]),
    Route("/info", info, methods=["GET"]),
    Route("/clients", add_client, methods=["POST"]),
    Route("/clients", list_clients, methods=["GET"]),
    Route("/clients/{client_id}", delete_client, methods=["DELETE"]),
    Route("/stats", stats, methods=["GET"]),
    Route("/reset", reset, methods=["POST"]),
    Route("/faults", list_faults, methods=["GET"]),
    Route("/faults", add_faults, methods=["POST"]),
    Route("/faults", clear_faults, methods=["DELETE"]),
    Route("/settings", get_settings, methods=["GET"]),
    Route("/settings", patch_settings, methods=["PATCH"]),
    Route("/introspect", introspect, methods=["POST"]),
    Route("/expire", expire, methods=["POST"]),
    Route("/families", families, methods=["GET"]),
    Route("/issued", issued, methods=["GET"]),
]
