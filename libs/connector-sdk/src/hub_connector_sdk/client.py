"""``ProviderClient``: how a connector calls its provider — always through the hub's gateway.

Connectors never hold tokens: a request names only a path relative to the connection's base
URL; the gateway resolves the connection, injects its credential, enforces rate limits and
returns the provider's answer. Absolute URLs and path traversal are refused here already.
"""

from __future__ import annotations

import json
import json as _json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, unquote

import httpx

from hub_connector_sdk.errors import ConnectorError, CredentialsRejected, GatewayError, ProviderError
from hub_connector_sdk.redaction import redact, redact_text

HeaderSource = Callable[[], Mapping[str, str]]


def _inject_trace_context(headers: dict[str, str]) -> None:
    """The caller's W3C trace context (``traceparent``), when OpenTelemetry is installed: the
    gateway's spans then join the trace of whatever runs this connector. The SDK does not
    depend on OpenTelemetry; without it, nothing is added."""
    try:
        from opentelemetry import propagate
    except ImportError:
        return
    propagate.inject(headers)


@dataclass(frozen=True)
class ProviderResponse:
    status_code: int
    headers: httpx.Headers
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content) if self.content else None

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


def safe_path(path: str) -> str:
    """A relative provider path; refuses absolute URLs, URL schemes and dot segments.

    Dot segments are looked for after percent-decoding (twice, to catch ``%252e``) because a
    proxy or provider may decode ``..%2f`` into ``../`` after our check.
    """
    path_part = path.split("?", 1)[0]
    if "://" in path_part or path.startswith("//") or "\\" in path_part:
        raise ConnectorError(
            "provider paths must be relative to the connection's base URL", code="invalid_path"
        )
    try:
        has_scheme = bool(httpx.URL(path_part.lstrip("/")).scheme)
    except httpx.InvalidURL:
        raise ConnectorError("provider path is not a valid URL path", code="invalid_path") from None
    if has_scheme:
        # httpx would read "x:run" as scheme "x" and silently send "run".
        raise ConnectorError(
            "a colon in the first path segment reads as a URL scheme; encode it as %3A",
            code="invalid_path",
        )
    for raw in path_part.lstrip("/").split("/"):
        if _is_dot_segment(raw):
            raise ConnectorError("path traversal is not allowed", code="invalid_path")
    return path.lstrip("/")


def _is_dot_segment(raw: str) -> bool:
    decoded = raw
    for _ in range(3):
        parts = decoded.replace("\\", "/").split("/")
        if any(p in (".", "..") for p in parts):
            return True
        once_more = unquote(decoded)
        if once_more == decoded:
            return False
        decoded = once_more
    return False


def segment(value: str | int) -> str:
    """Percent-encode one path segment taken from user input (``/`` included)."""
    return quote(str(value), safe="")


class ProviderClient:
    def __init__(
        self,
        *,
        gateway_url: str,
        connection_id: str,
        headers: HeaderSource = dict,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.connection_id = connection_id
        self._headers = headers
        self._http = httpx.AsyncClient(
            base_url=f"{gateway_url.rstrip('/')}/v1/proxy/{connection_id}/",
            transport=transport,
            timeout=timeout_s,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ProviderClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        raise_for_status: bool = True,
    ) -> ProviderResponse:
        merged = {**self._headers(), **(headers or {})}
        if idempotency_key:
            merged["Idempotency-Key"] = idempotency_key
        _inject_trace_context(merged)
        try:
            resp = await self._http.request(
                method, safe_path(path), params=params, json=json, data=data, headers=merged
            )
        except httpx.TimeoutException:
            raise ProviderError("the provider did not answer in time", code="provider_timeout") from None
        except httpx.TransportError as exc:
            raise ProviderError(
                f"gateway unreachable ({type(exc).__name__})", code="gateway_unreachable"
            ) from None
        result = ProviderResponse(resp.status_code, resp.headers, resp.content)
        if raise_for_status and not result.ok:
            raise error_for(result)
        return result

    async def get(self, path: str, **kw: Any) -> ProviderResponse:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, **kw: Any) -> ProviderResponse:
        return await self.request("POST", path, **kw)

    async def put(self, path: str, **kw: Any) -> ProviderResponse:
        return await self.request("PUT", path, **kw)

    async def patch(self, path: str, **kw: Any) -> ProviderResponse:
        return await self.request("PATCH", path, **kw)

    async def delete(self, path: str, **kw: Any) -> ProviderResponse:
        return await self.request("DELETE", path, **kw)

    async def graphql(self, path: str, query: str, variables: Mapping[str, Any] | None = None) -> Any:
        """POST a GraphQL document; GraphQL ``errors`` become a ProviderError."""
        resp = await self.post(path, json={"query": query, "variables": dict(variables or {})})
        body = resp.json() or {}
        if body.get("errors"):
            first = body["errors"][0]
            code = (first.get("extensions") or {}).get("code") or "graphql_error"
            raise ProviderError(
                str(first.get("message", "GraphQL error"))[:500],
                code=str(code).lower(),
                status_code=resp.status_code,
                details={"errors": body["errors"][:5]},
            )
        return body.get("data")


ERROR_EXCERPT_CHARS = 1000
_STATUS_CODES = {
    403: "provider_forbidden",
    404: "provider_not_found",
    409: "provider_conflict",
    422: "provider_rejected",
    429: "provider_rate_limited",
}


def error_for(resp: ProviderResponse) -> ProviderError:
    """Map a provider's error answer (or the gateway's own error body) to a ProviderError.

    The error carries the provider's message, a redacted excerpt of its body
    (``body_excerpt``, at most ``ERROR_EXCERPT_CHARS``) and, when the answer said when to come
    back (``Retry-After``, on 429 and 503 mostly), ``retry_after_s``. Use it when you inspect an
    answer yourself (``raise_for_status=False``) and then decide it is an error.
    """
    body: Any = None
    try:
        body = resp.json()
    except ValueError:
        body = None
    wait = retry_after(resp.headers)
    gateway_error = _gateway_error(body)
    if gateway_error is not None:
        details = gateway_error.get("details") or {}
        if wait is None and isinstance(details.get("retry_after_s"), int | float):
            wait = float(details["retry_after_s"])
        return GatewayError(
            str(gateway_error.get("message", "gateway error")),
            code=str(gateway_error["code"]),
            status_code=resp.status_code,
            retry_after_s=wait,
        )
    message = provider_message(body) or f"provider answered {resp.status_code}"
    excerpt = body_excerpt(resp)
    if resp.status_code == 401:
        return CredentialsRejected(message, status_code=401, body_excerpt=excerpt)
    return ProviderError(
        message,
        code=_STATUS_CODES.get(resp.status_code, "provider_error"),
        status_code=resp.status_code,
        retry_after_s=wait,
        body_excerpt=excerpt,
    )


def retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), None when absent or unreadable."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def body_excerpt(resp: ProviderResponse, limit: int = ERROR_EXCERPT_CHARS) -> str | None:
    """At most ``limit`` characters of an answer's body, secrets redacted (JSON values under
    secret-looking keys, credential-shaped strings)."""
    if not resp.content:
        return None
    try:
        text = _json.dumps(redact(resp.json()), ensure_ascii=False)
    except ValueError:
        text = redact_text(resp.content[: limit * 4].decode("utf-8", errors="replace"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _gateway_error(body: Any) -> dict[str, Any] | None:
    """The hub's own error body: ``{"error": {"code": str, "message": str, "details": {...}}}``.

    Providers use ``{"error": {...}}`` too (OpenAI: ``{"error": {"code", "type", "param"}}``), so
    the hub's shape is recognised by a string ``code`` *and* a ``details`` object; anything else
    is the provider's answer and keeps its status mapping (401 → CredentialsRejected).
    """
    error = body.get("error") if isinstance(body, dict) else None
    if (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("details"), dict)
    ):
        return error
    return None


def provider_message(body: Any) -> str | None:
    """The human message of a provider's JSON error body (``message``, ``error_description``,
    ``error``, ``errorMessages``, ``errors[0].message``), at most 500 characters."""
    if isinstance(body, dict):
        for key in ("message", "error_description", "error", "errorMessages"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:500]
            if isinstance(value, list) and value:
                return str(value[0])[:500]
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0].get("message")
            if isinstance(first, str) and first:
                return first[:500]
    return None
