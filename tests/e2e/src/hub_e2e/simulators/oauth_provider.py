"""A strict OAuth 2.0 authorization-server simulator with provider flavors, for e2e tests.

Run it as a process::

    python -m hub_e2e.simulators.oauth_provider --port 9400 --flavor github \\
        --clients '[{"client_id": "app", "client_secret": "s3cret", "redirect_uris": ["http://127.0.0.1:8082/v1/oauth/callback"]}]'

or from tests with :class:`hub_e2e.simulators.runner.OAuthSimulator`. Behaviour: RFC 6749 with
exact redirect URIs and single-use, short-lived codes; PKCE S256 only (RFC 7636, RFC 9700 §2.1.1);
refresh-token rotation with reuse detection that revokes the whole family (RFC 9700 §4.14.2);
RFC 7009 revocation; RFC 8414 metadata; RFC 9207 ``iss``; each flavor's documented quirks
(``flavors.py``). Administration under ``/_sim`` (``admin.py``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from hub_e2e.simulators import admin
from hub_e2e.simulators.authorize import authorize
from hub_e2e.simulators.config import Client
from hub_e2e.simulators.flavors import FLAVORS, get_flavor
from hub_e2e.simulators.state import Simulator, sim_of
from hub_e2e.simulators.token_endpoint import token

WELL_KNOWN = "/.well-known/oauth-authorization-server"


async def metadata(request: Request) -> Response:
    """RFC 8414 §3: for an issuer with a path, the path goes after the well-known suffix."""
    sim = sim_of(request)
    issuer = sim.issuer(request)
    parts = urlsplit(issuer)
    if not sim.settings.publish_metadata or request.path_params["suffix"] != parts.path.rstrip("/"):
        return JSONResponse({"error": "not_found"}, status_code=404)
    origin = f"{parts.scheme}://{parts.netloc}"
    flavor, endpoints = sim.flavor, sim.flavor.endpoints
    methods = sorted(flavor.token_auth_methods)
    doc: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": origin + endpoints.authorize,
        "token_endpoint": origin + endpoints.token,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(flavor.grant_types),
        "token_endpoint_auth_methods_supported": methods,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": sim.settings.iss_parameter,
    }
    if endpoints.revoke:
        doc["revocation_endpoint"] = origin + endpoints.revoke
        doc["revocation_endpoint_auth_methods_supported"] = methods
    return JSONResponse(doc)


def create_app(
    flavor: str = "generic",
    *,
    clients: Iterable[Mapping[str, Any]] = (),
    settings: Mapping[str, Any] | None = None,
) -> Starlette:
    chosen = get_flavor(flavor)
    current = chosen.default_settings()
    current.update(settings or {})
    sim = Simulator(chosen, current)
    for data in clients:
        client = Client.from_json(data)
        sim.store.clients[client.client_id] = client
    routes = [
        Route(chosen.endpoints.authorize, authorize, methods=["GET"]),
        Route(chosen.endpoints.token, token, methods=["POST"]),
        *chosen.routes(),
        Route(WELL_KNOWN + "{suffix:path}", metadata, methods=["GET"]),
        Mount("/_sim", routes=admin.routes),
    ]
    app = Starlette(routes=routes)
    app.state.sim = sim
    return app


def _json_arg(value: str) -> Any:
    """A JSON value, or ``@path`` to read it from a file."""
    text = Path(value[1:]).read_text() if value.startswith("@") else value
    return json.loads(text)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m hub_e2e.simulators.oauth_provider",
        description="Strict OAuth 2.0 authorization-server simulator",
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--flavor", choices=sorted(FLAVORS), default="generic")
    parser.add_argument("--issuer", help="issuer identifier (default: the URL requests arrive on)")
    parser.add_argument("--clients", type=_json_arg, default=[], help="JSON list of clients, or @file")
    parser.add_argument("--settings", type=_json_arg, default={}, help="JSON object of settings, or @file")
    parser.add_argument("--access-token-ttl", type=float, help="seconds (overrides --settings)")
    parser.add_argument("--code-ttl", type=float, help="seconds (overrides --settings)")
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    args = parse_args(argv)
    settings = dict(args.settings)
    for name in ("issuer", "access_token_ttl", "code_ttl"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    app = create_app(args.flavor, clients=args.clients, settings=settings)
    # A short graceful-shutdown window: injected "hang" faults must not hold SIGTERM up.
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, timeout_graceful_shutdown=2)


if __name__ == "__main__":
    main()
