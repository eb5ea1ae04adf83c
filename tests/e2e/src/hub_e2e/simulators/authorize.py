"""``GET /authorize`` (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 9207), answering as if the user consented.

Simulator-only query parameters: ``sim_user`` picks the account that "logs in" (default
``sim-user``), ``sim_decision=deny`` makes the user refuse. Both are ignored by real providers.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hub_e2e.simulators.config import Client
from hub_e2e.simulators.crypto import is_valid_s256_challenge
from hub_e2e.simulators.errors import OAuthError, invalid_request
from hub_e2e.simulators.state import Simulator, injected_fault, sim_of

GITHUB_AUTHORIZE_ERRORS = (
    "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors"
)
_SIM_USER = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def redirect_to(uri: str, params: dict[str, str | None]) -> Response:
    # RFC 6749 §3.1.2: a query component of the registered URI MUST be retained.
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return RedirectResponse(
        urlunsplit(parts._replace(query=query)), status_code=302, headers={"Cache-Control": "no-store"}
    )


def error_page(sim: Simulator, error: str, description: str) -> Response:
    """RFC 6749 §4.1.2.1: with a bad client or redirect URI, tell the user; never redirect."""
    sim.store.stats.authorize_rejected += 1
    body = (
        f"<!doctype html><title>Authorization error</title><h1>{html.escape(error)}</h1>"
        f"<p>{html.escape(description)}</p>"
    )
    return HTMLResponse(body, status_code=400, headers={"Cache-Control": "no-store"})


def _redirect_uri(sim: Simulator, client: Client, sent: str | None, state: str | None) -> str | Response:
    if sent is None:
        if not sim.flavor.redirect_uri_optional:
            return error_page(sim, "invalid_request", "redirect_uri is required")
        return client.redirect_uris[0]
    # Exact string comparison against the registered list (RFC 9700 §2.1, §4.1.3): no prefix,
    # no normalisation, no wildcard.
    if sent in client.redirect_uris:
        return sent
    if sim.flavor.redirect_mismatch_to_registered:
        sim.store.stats.authorize_rejected += 1
        return redirect_to(
            client.redirect_uris[0],
            {
                "error": "redirect_uri_mismatch",
                "error_description": "The redirect_uri MUST match the registered callback URL for this "
                "application.",
                "error_uri": GITHUB_AUTHORIZE_ERRORS,
                "state": state,
            },
        )
    return error_page(sim, "invalid_request", "redirect_uri is not registered for this client")


def _check_pkce(query: dict[str, str], required: bool) -> str | None:
    challenge, method = query.get("code_challenge"), query.get("code_challenge_method")
    if challenge is None:
        if method is not None:
            raise invalid_request("code_challenge_method without code_challenge")
        if required:
            raise invalid_request("code challenge required (PKCE, RFC 7636 §4.4.1)")
        return None
    if method is None:
        # RFC 7636 §4.3 defaults to "plain", which this server does not support (RFC 9700 §2.1.1).
        raise invalid_request("code_challenge_method is required; plain is not supported")
    if method != "S256":
        raise invalid_request("transform algorithm not supported (RFC 7636 §4.4.1)")
    if not is_valid_s256_challenge(challenge):
        raise invalid_request("code_challenge is not a BASE64URL-encoded SHA-256 digest (RFC 7636 §4.2)")
    return challenge


def _check_request(
    sim: Simulator, client: Client, query: dict[str, str], repeated: list[str]
) -> tuple[dict[str, tuple[str, ...]], str | None]:
    flavor = sim.flavor
    if repeated:
        raise invalid_request(f"parameters repeated: {', '.join(repeated)} (RFC 6749 §3.1)")
    response_type = query.get("response_type")
    if response_type is None:
        raise invalid_request("response_type is required")
    if response_type != "code":
        raise OAuthError("unsupported_response_type", "only response_type=code is supported")
    if query.get("state") is None:
        raise invalid_request("state is required")
    for name, value in flavor.required_authorize_params.items():
        if query.get(name) != value:
            raise invalid_request(f"{name}={value} is required")
    flavor.check_authorize(query)
    scopes = {kind: flavor.granted_scopes(scope) for kind, scope in flavor.requested_scopes(query).items()}
    if client.scopes is not None:
        unknown = sorted({s for scope in scopes.values() for s in scope} - set(client.scopes))
        if unknown:
            raise OAuthError("invalid_scope", f"scopes not allowed for this client: {' '.join(unknown)}")
    required = sim.settings.pkce_required if client.pkce_required is None else client.pkce_required
    return scopes, _check_pkce(query, required)


async def authorize(request: Request) -> Response:
    sim = sim_of(request)
    sim.store.stats.authorize_calls += 1
    if (early := await injected_fault(sim, "authorize")) is not None:
        return early
    pairs = request.query_params.multi_items()
    counts = Counter(key for key, _ in pairs)
    query = {key: value for key, value in pairs if value != ""}  # RFC 6749 §3.1: empty = absent
    if counts["client_id"] > 1 or counts["redirect_uri"] > 1:
        return error_page(sim, "invalid_request", "client_id or redirect_uri repeated")
    client = sim.store.clients.get(query.get("client_id", ""))
    if client is None:
        return error_page(sim, "invalid_client", "unknown client_id")
    state = query.get("state")
    redirect_uri = _redirect_uri(sim, client, query.get("redirect_uri"), state)
    if isinstance(redirect_uri, Response):
        return redirect_uri
    # RFC 9207 §2: iss goes on every authorization response, success or error.
    iss = sim.issuer(request) if sim.settings.iss_parameter else None
    try:
        scopes, challenge = _check_request(sim, client, query, [k for k, n in counts.items() if n > 1])
    except OAuthError as err:
        sim.store.stats.authorize_rejected += 1
        return redirect_to(
            redirect_uri,
            {"error": err.error, "error_description": err.description, "state": state, "iss": iss},
        )
    subject = query.get("sim_user", "sim-user")
    if not _SIM_USER.fullmatch(subject):
        return error_page(sim, "invalid_request", "sim_user is lower-case letters, digits and dashes")
    if query.get("sim_decision") == "deny" or sim.settings.user_decision == "deny":
        sim.store.stats.authorize_denied += 1
        return redirect_to(redirect_uri, {**sim.flavor.denial_params(), "state": state, "iss": iss})
    async with sim.lock:
        code = sim.store.issue_code(
            client=client,
            redirect_uri=redirect_uri,
            redirect_uri_sent="redirect_uri" in query,
            scopes=scopes,
            code_challenge=challenge,
            subject=subject,
            ttl=sim.settings.code_ttl,
        )
    sim.store.stats.authorize_approved += 1
    return redirect_to(redirect_uri, {"code": code.value, "state": state, "iss": iss})
