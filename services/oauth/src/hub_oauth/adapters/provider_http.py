"""Calls to a provider's OAuth endpoints: code exchange, refresh, client credentials,
revocation, identity and RFC 8414 discovery.

Client authentication follows the connector's ``client_auth`` (RFC 6749 §2.3.1 Basic with
form-urlencoded id/secret, or body parameters) and ``token_request_format`` (form or JSON,
Notion/Atlassian). 5xx answers and network errors are retried with exponential backoff and
jitter; 4xx answers are final.

Every answer is read as a stream up to ``max_answer_bytes`` (after content decoding, so a
compressed bomb counts at its real size): a tenant may point a connection's endpoints anywhere,
and a larger answer is the provider error ``answer_too_large``, never a body held whole.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from hub_common.ssrf import UrlNotAllowed
from hub_connector_sdk import OAuthConfig
from hub_oauth.domain.endpoints import Endpoints
from hub_oauth.domain.token_response import OAuthProviderError, TokenSet, decode_body, parse

log = logging.getLogger(__name__)
T = TypeVar("T")
# Seconds this request spent waiting on the provider; reported as Server-Timing so operators
# (and the benchmark) can tell hub-side cost from provider latency.
provider_seconds: ContextVar[list[float] | None] = ContextVar("provider_seconds", default=None)


DEFAULT_MAX_ANSWER_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str | None


@dataclass(frozen=True)
class ProviderAnswer:
    """A provider's answer, its body read within the size cap."""

    status_code: int
    headers: httpx.Headers
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


def answer_too_large(limit: int, status: int | None = None) -> OAuthProviderError:
    return OAuthProviderError(
        "answer_too_large", f"the provider's answer is larger than {limit} bytes", status=status
    )


class ProviderOAuthClient:
    def __init__(
        self,
        *,
        attempts: int = 3,
        backoff_s: float = 0.2,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
    ) -> None:
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.max_answer_bytes = max_answer_bytes
        self._http = httpx.AsyncClient(
            timeout=timeout_s,
            transport=transport,
            follow_redirects=False,
            headers={"User-Agent": "integration-hub-oauth/0.1"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, method: str, url: str, **kwargs: Any) -> ProviderAnswer:
        """One request; its answer's body read as a stream, never past ``max_answer_bytes``."""
        limit = self.max_answer_bytes
        async with self._http.stream(method, url, **kwargs) as resp:
            declared = resp.headers.get("content-length", "")
            identity = resp.headers.get("content-encoding", "identity").strip().lower() == "identity"
            if identity and declared.isdigit() and int(declared) > limit:
                raise answer_too_large(limit, resp.status_code)  # refused before reading any of it
            body = bytearray()
            async for chunk in resp.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise answer_too_large(limit, resp.status_code)
            return ProviderAnswer(resp.status_code, resp.headers, bytes(body))

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        try:
            return await self._attempts(call)
        finally:
            spent = provider_seconds.get()
            if spent is not None:
                spent[0] += time.perf_counter() - started

    async def _attempts(self, call: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                return await call()
            except OAuthProviderError as exc:
                if not exc.retryable or attempt == self.attempts:
                    raise
            except UrlNotAllowed as exc:
                # The transport's connect-time SSRF check: a refusal like the provider's own, not
                # a network error to retry; callers already handle those (revoke still deletes).
                raise OAuthProviderError("url_not_allowed", exc.message) from None
            except httpx.TransportError as exc:
                if attempt == self.attempts:
                    raise OAuthProviderError(
                        "temporarily_unavailable",
                        f"provider unreachable ({type(exc).__name__})",
                        retryable=True,
                    ) from None
            delay = self.backoff_s * 2 ** (attempt - 1) * (0.5 + random.random() / 2)  # noqa: S311
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def _token_request(
        self, oauth: OAuthConfig, client: ClientCredentials, params: dict[str, str]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        headers = {"Accept": "application/json"}
        body: dict[str, Any] = dict(params)
        if oauth.client_auth == "client_secret_basic" and client.client_secret is not None:
            pair = f"{quote(client.client_id, safe='')}:{quote(client.client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            body["client_id"] = client.client_id
            if client.client_secret is not None:
                body["client_secret"] = client.client_secret
        return headers, body

    async def _token_call(
        self, url: str, oauth: OAuthConfig, client: ClientCredentials, params: dict[str, str]
    ) -> TokenSet:
        headers, body = self._token_request(oauth, client, params)

        async def call() -> TokenSet:
            if oauth.token_request_format == "json":
                resp = await self._send("POST", url, json=body, headers=headers)
            else:
                resp = await self._send("POST", url, data=body, headers=headers)
            if resp.status_code >= 500:
                raise OAuthProviderError(
                    "server_error",
                    f"token endpoint answered {resp.status_code}",
                    status=resp.status_code,
                    retryable=True,
                )
            return parse(
                oauth.profile,
                resp.status_code,
                decode_body(resp.content, resp.headers.get("content-type", "")),
            )

        return await self._retrying(call)

    async def exchange_code(
        self,
        endpoints: Endpoints,
        oauth: OAuthConfig,
        client: ClientCredentials,
        *,
        code: str,
        redirect_uri: str,
        verifier: str | None,
    ) -> TokenSet:
        params = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if verifier:
            params["code_verifier"] = verifier
        return await self._token_call(endpoints.token_url, oauth, client, params)

    async def refresh(
        self, endpoints: Endpoints, oauth: OAuthConfig, client: ClientCredentials, *, refresh_token: str
    ) -> TokenSet:
        return await self._token_call(
            endpoints.token_url,
            oauth,
            client,
            {"grant_type": "refresh_token", "refresh_token": refresh_token},
        )

    async def client_credentials(
        self, endpoints: Endpoints, oauth: OAuthConfig, client: ClientCredentials, *, scopes: list[str]
    ) -> TokenSet:
        params = {"grant_type": "client_credentials"}
        if scopes:
            params["scope"] = oauth.scope_separator.join(scopes)
        return await self._token_call(endpoints.token_url, oauth, client, params)

    async def revoke(
        self,
        endpoints: Endpoints,
        oauth: OAuthConfig,
        client: ClientCredentials,
        *,
        access_token: str | None,
        refresh_token: str | None,
    ) -> None:
        """Revoke at the provider (RFC 7009 or its own call). Raises OAuthProviderError on failure,
        network errors and timeouts included: those and 5xx answers are retried like a token call
        (revoking twice is harmless)."""
        await self._retrying(
            lambda: self._revoke_once(
                endpoints, oauth, client, access_token=access_token, refresh_token=refresh_token
            )
        )

    async def _revoke_once(
        self,
        endpoints: Endpoints,
        oauth: OAuthConfig,
        client: ClientCredentials,
        *,
        access_token: str | None,
        refresh_token: str | None,
    ) -> None:
        url = endpoints.revocation_url
        if oauth.revocation_style == "none" or not url:
            return
        if oauth.revocation_style == "github":
            # DELETE /applications/{client_id}/token, Basic client auth, JSON {access_token}.
            target = url.replace("{client_id}", quote(client.client_id, safe=""))
            pair = f"{client.client_id}:{client.client_secret or ''}"
            headers = {
                "Authorization": "Basic " + base64.b64encode(pair.encode()).decode(),
                "Accept": "application/vnd.github+json",
            }
            resp = await self._send("DELETE", target, json={"access_token": access_token}, headers=headers)
            self._check_revoke(resp, ok=(204, 404, 422))
            return
        if oauth.revocation_style == "slack":
            resp = await self._send("POST", url, headers={"Authorization": f"Bearer {access_token}"})
            body = decode_body(resp.content, resp.headers.get("content-type", ""))
            if resp.status_code >= 400 or (
                not body.get("ok") and body.get("error") not in ("invalid_auth", "token_revoked")
            ):
                raise OAuthProviderError(
                    str(body.get("error") or "revocation_failed"),
                    status=resp.status_code,
                    retryable=resp.status_code >= 500,
                )
            return
        # RFC 7009: revoking the refresh token revokes its access tokens too (§2.1).
        token, hint = (refresh_token, "refresh_token") if refresh_token else (access_token, "access_token")
        if token is None:
            return
        headers, body = self._token_request(oauth, client, {"token": token, "token_type_hint": hint})
        if oauth.token_request_format == "json":
            resp = await self._send("POST", url, json=body, headers=headers)
        else:
            resp = await self._send("POST", url, data=body, headers=headers)
        self._check_revoke(resp, ok=(200, 204))

    @staticmethod
    def _check_revoke(resp: ProviderAnswer, ok: tuple[int, ...]) -> None:
        if resp.status_code not in ok:
            raise OAuthProviderError(
                "revocation_failed",
                f"revocation answered {resp.status_code}",
                status=resp.status_code,
                retryable=resp.status_code >= 500,
            )

    async def get_json(
        self, url: str, access_token: str, *, extra_headers: dict[str, str] | None = None
    ) -> Any:
        """An authenticated GET (identity, accessible-resources); 401 → invalid token."""

        async def call() -> Any:
            resp = await self._send(
                "GET",
                url,
                headers={
                    "Authorization": f"Bearer {access_token}",
                    "Accept": "application/json",
                    **(extra_headers or {}),
                },
            )
            if resp.status_code >= 500:
                raise OAuthProviderError("server_error", f"{url} answered {resp.status_code}", retryable=True)
            if resp.status_code >= 400:
                raise OAuthProviderError(
                    "invalid_token" if resp.status_code == 401 else "identity_failed",
                    f"identity call answered {resp.status_code}",
                    status=resp.status_code,
                )
            return _json_of(resp, "identity_failed", "the identity call")

        return await self._retrying(call)

    async def _metadata_at(self, url: str) -> dict[str, Any]:
        resp = await self._send("GET", url, headers={"Accept": "application/json"})
        if resp.status_code >= 500:
            raise OAuthProviderError("server_error", "metadata endpoint failed", retryable=True)
        if resp.status_code != 200:
            raise OAuthProviderError("discovery_failed", f"metadata answered {resp.status_code}")
        data = _json_of(resp, "discovery_failed", "the metadata")
        if not isinstance(data, dict):
            raise OAuthProviderError("discovery_failed", "metadata is not an object")
        return data

    async def discover(self, issuer: str) -> dict[str, Any]:
        """RFC 8414 §3: the metadata document; its ``issuer`` must equal ours exactly (§3.3)."""
        urls = metadata_urls(issuer)

        async def call() -> dict[str, Any]:
            # RFC 8414's location first; whatever answers there instead (a 404, a redirect or a
            # login page from the host root) sends us on to where many servers put it. Only if
            # every location fails is it an error: a server error if one was seen (worth a
            # retry), else the last refusal.
            failure: OAuthProviderError | None = None
            for url in urls:
                try:
                    return await self._metadata_at(url)
                except OAuthProviderError as exc:
                    failure = exc if failure is None or not failure.retryable else failure
            assert failure is not None  # urls is never empty
            raise failure

        metadata = await self._retrying(call)
        if metadata.get("issuer") != issuer:
            raise OAuthProviderError(
                "issuer_mismatch", "the metadata's issuer differs from the configured one"
            )
        for key in ("authorization_endpoint", "token_endpoint"):
            if not isinstance(metadata.get(key), str):
                raise OAuthProviderError("discovery_failed", f"metadata has no {key}")
        return metadata


WELL_KNOWN = "/.well-known/oauth-authorization-server"


def metadata_urls(issuer: str) -> list[str]:
    """Where an issuer's metadata may be. RFC 8414 §3.1 inserts the well-known suffix between the
    host and the issuer's path (``https://idp/.well-known/oauth-authorization-server/tenant1``);
    for an issuer with a path, the suffix appended after it (OpenID Connect's habit) is next."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    inserted = urlunsplit((parts.scheme, parts.netloc, WELL_KNOWN + path, "", ""))
    if not path:
        return [inserted]
    return [inserted, issuer.rstrip("/") + WELL_KNOWN]


def _json_of(resp: ProviderAnswer, code: str, what: str) -> Any:
    """A provider's JSON answer, or a provider error (not a crash) when it is not JSON."""
    try:
        return resp.json()
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both are
        raise OAuthProviderError(code, f"{what} did not answer JSON", status=resp.status_code) from None
