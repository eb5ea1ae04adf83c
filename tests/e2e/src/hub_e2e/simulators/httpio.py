"""Request parsing shared by the endpoints: strict bodies, client authentication, bearer tokens."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from starlette.requests import Request
from starlette.responses import JSONResponse

from hub_e2e.simulators.config import Client
from hub_e2e.simulators.crypto import secrets_equal
from hub_e2e.simulators.errors import OAuthError, invalid_client, invalid_request

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
# RFC 6749 §5.1: token responses MUST NOT be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def no_store_json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={**NO_STORE, **(headers or {})})


class Params:
    """Request parameters with RFC 6749 §3.1/§3.2 semantics: empty values count as absent."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = {k: v for k, v in values.items() if v not in ("", None)}

    def get(self, name: str) -> str | None:
        value = self._values.get(name)
        if value is not None and not isinstance(value, str):
            raise invalid_request(f"{name} must be a string")
        return value

    def __contains__(self, name: object) -> bool:
        return name in self._values


def unique_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    # RFC 6749 §3.1 and §3.2: parameters MUST NOT be included more than once.
    values: dict[str, str] = {}
    for key, value in pairs:
        if key in values:
            raise invalid_request(f"parameter {key!r} is repeated")
        values[key] = value
    return values


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_params(request: Request, formats: frozenset[str]) -> Params:
    """The body as parameters, accepting only the formats this provider documents."""
    kind = media_type(request)
    body = await request.body()
    if kind == FORM and "form" in formats:
        try:
            text = body.decode("utf-8", errors="strict")
        except UnicodeDecodeError:
            raise invalid_request("body is not UTF-8", about="body_format") from None
        return Params(unique_pairs(parse_qsl(text, keep_blank_values=True)))
    if kind == JSON and "json" in formats:
        try:
            data = json.loads(body)
        except ValueError:
            raise invalid_request("body is not valid JSON", about="body_format") from None
        if not isinstance(data, dict):
            raise invalid_request("JSON body must be an object", about="body_format")
        return Params(data)
    wanted = " or ".join(FORM if f == "form" else JSON for f in sorted(formats))
    raise invalid_request(f"unsupported Content-Type {kind or 'none'!r}; send {wanted}", about="body_format")


def _basic_credentials(header: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(header.split(" ", 1)[1].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, IndexError):
        raise invalid_client("malformed HTTP Basic credentials", about="client_auth_method") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise invalid_client("malformed HTTP Basic credentials", about="client_auth_method")
    # RFC 6749 §2.3.1: id and secret are form-urlencoded before Base64 encoding.
    return unquote_plus(client_id), unquote_plus(secret)


def uses_basic(request: Request) -> bool:
    return request.headers.get("authorization", "").lower().startswith("basic ")


def authenticate_client(
    request: Request, params: Params, methods: frozenset[str], clients: Mapping[str, Client]
) -> Client:
    """RFC 6749 §2.3.1 client authentication, limited to the methods the provider supports."""
    body_id, body_secret = params.get("client_id"), params.get("client_secret")
    if uses_basic(request):
        if body_secret is not None:
            # RFC 6749 §2.3: a client MUST NOT use more than one authentication method per request.
            raise invalid_request("client authenticated with both HTTP Basic and client_secret")
        if "client_secret_basic" not in methods:
            raise invalid_client(
                "HTTP Basic client authentication is not supported here; send "
                "client_id and client_secret in the body",
                about="client_auth_method",
            )
        client_id, secret = _basic_credentials(request.headers["authorization"])
        if body_id is not None and body_id != client_id:
            raise invalid_client(
                "client_id in the body differs from the Basic credentials", about="client_id"
            )
    elif body_secret is not None:
        if "client_secret_post" not in methods:
            raise invalid_client(
                "client_secret in the body is not supported here; use HTTP Basic", about="client_auth_method"
            )
        if body_id is None:
            raise invalid_client("client_id is required", about="client_id")
        client_id, secret = body_id, body_secret
    else:
        raise invalid_client("client authentication is required", about="client_auth_method")
    client = clients.get(client_id)
    if client is None:
        raise invalid_client("unknown client", about="client_id")
    if not secrets_equal(secret, client.client_secret):
        raise invalid_client("client authentication failed", about="client_secret")
    return client


def bearer_token(request: Request, *, schemes: tuple[str, ...] = ("bearer",)) -> str | None:
    """RFC 6750 §2.1 (the scheme is case-insensitive). GitHub also accepts ``token``."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() in schemes and value.strip():
        return value.strip()
    return None


def oauth_error_body(err: OAuthError) -> dict[str, str]:
    return {"error": err.error, "error_description": err.description}
