"""Stand-ins for the hub's gateway in a connector's tests.

``GatewayStub`` answers ``/v1/proxy/{connection_id}/...`` requests from handler functions (or a
cassette) so a connector runs, unchanged, with a real ``ProviderClient``. It is a unit-test fake:
it injects no credential, enforces no rate limit and reaches no provider.

``DirectProviderTransport`` is the other half of recording: on a developer machine it forwards
proxy paths straight to the provider with the developer's own key, so a cassette can be
recorded without a running hub.
"""

from __future__ import annotations

import json as _json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, unquote

import httpx

from hub_connector_sdk.base import BaseConnector
from hub_connector_sdk.client import ProviderClient
from hub_connector_sdk.models import ConnectionContext
from hub_connector_sdk.testkit._paths import TemplateIndex
from hub_connector_sdk.testkit.cassette import Body, provider_path
from hub_connector_sdk.testkit.openapi import OpenApiSpec

if TYPE_CHECKING:
    from hub_connector_sdk.testkit.contract import Contract
from hub_connector_sdk.testkit.recording import RecordReplayTransport

# Headers that carry credentials: a connector must never send them; the gateway adds them.
CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "private-token", "api-key", "cookie"}
)
C = TypeVar("C", bound=BaseConnector)


class UnexpectedRequest(AssertionError):
    """A request the stub has no route (and no cassette recording) for, or one that breaks the
    gateway rule (another URL than the proxy path, a credential sent by the connector)."""


@dataclass(frozen=True)
class StubRequest:
    """One request as the provider would see it, for handlers and assertions."""

    method: str
    path: str  # the provider path, e.g. /pages/p1/incidents (as sent, percent-encoded)
    query: dict[str, list[str]]
    json: Any
    form: dict[str, list[str]] | None
    headers: httpx.Headers
    path_params: dict[str, str] = field(default_factory=dict)  # decoded values of the route's placeholders

    def param(self, name: str) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else None


Answer = Any  # httpx.Response | dict | list | str | int | None | (status, body[, headers])
Handler = Callable[[StubRequest], Answer]


@dataclass
class _Route:
    template: str
    answers: list[Handler]
    used: int = 0

    def next_answer(self) -> Handler:
        # Answers registered for the same route play in order; the last one repeats.
        answer = self.answers[min(self.used, len(self.answers) - 1)]
        self.used += 1
        return answer


class GatewayStub(httpx.AsyncBaseTransport):
    """A unit-test fake of the gateway (never for anything else).

        stub = GatewayStub()
        stub.route("GET", "/pages/{page_id}", {"id": "p1", "name": "Acme"})
        stub.route("POST", "/pages/{page_id}/incidents", lambda req: (201, {"id": "i1", **req.json}))
        connector = stub.connector(StatuspageConnector, config={"page_id": "p1"})

    ``spec`` (an OpenApiSpec or a contract from :mod:`hub_connector_sdk.testkit.contract`)
    checks every request, with the headers the provider would see, against a published API
    description before answering, and (``check_responses``) every answer after;
    ``cassette`` answers requests no route covers from a recording.
    """

    def __init__(
        self,
        *,
        connection_id: str = "conn_test",
        gateway_url: str = "http://gateway.test",
        cassette: str | Path | RecordReplayTransport | None = None,
        spec: OpenApiSpec | Contract | None = None,
        forbid_credentials: bool = True,
        check_responses: bool = True,
    ) -> None:
        from hub_connector_sdk.testkit.contract import as_contract

        self.connection_id = connection_id
        self.gateway_url = gateway_url.rstrip("/")
        self.spec = as_contract(spec) if spec is not None else None
        self.check_responses = check_responses
        self.forbid_credentials = forbid_credentials
        self.calls: list[StubRequest] = []
        # The manifest's api.default_headers, added as the gateway adds them (set by connector()).
        self.default_headers: dict[str, str] = {}
        self._routes: dict[tuple[str, str], _Route] = {}
        self._index: dict[str, TemplateIndex] = {}
        if isinstance(cassette, RecordReplayTransport) or cassette is None:
            self.cassette = cassette
        else:
            self.cassette = RecordReplayTransport(cassette, mode="replay")

    # -- configuring -------------------------------------------------------------------------------
    def route(
        self,
        method: str,
        template: str,
        answer: Answer | Handler = None,
        *,
        status: int = 200,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> GatewayStub:
        """Answer ``method template`` with a handler, a JSON body, or ``status``/``json``/``headers``.

        Registering the same route again queues another answer (each used once, the last repeats).
        """
        handler = _handler(answer, status, json, dict(headers or {}))
        verb = method.upper()
        key = (verb, "/" + template.strip("/"))
        if key in self._routes:
            self._routes[key].answers.append(handler)
        else:
            self._routes[key] = _Route(key[1], [handler])
            self._index.setdefault(verb, TemplateIndex()).add(key[1])
        return self

    def gateway_error(
        self, method: str, template: str, *, status: int, code: str, message: str = ""
    ) -> GatewayStub:
        """Answer as the gateway itself would when it refuses a call (``{"error": {...}}``)."""
        body = {"error": {"code": code, "message": message or code.replace("_", " "), "details": {}}}
        return self.route(method, template, status=status, json=body)

    # -- using ---------------------------------------------------------------------------------------
    def client(self) -> ProviderClient:
        return ProviderClient(gateway_url=self.gateway_url, connection_id=self.connection_id, transport=self)

    def connector(
        self,
        connector_cls: type[C],
        *,
        config: Mapping[str, Any] | None = None,
        tenant_id: str = "tenant_test",
    ) -> C:
        context = ConnectionContext(
            connection_id=self.connection_id, tenant_id=tenant_id, config=dict(config or {})
        )
        self.default_headers = {k.lower(): v for k, v in connector_cls.api.default_headers.items()}
        return connector_cls(context, self.client())

    def calls_to(self, method: str, template: str | None = None) -> list[StubRequest]:
        """Requests made with ``method`` (and to paths fitting ``template``, if given)."""
        index = TemplateIndex([template]) if template else None
        return [
            c
            for c in self.calls
            if c.method == method.upper() and (index is None or index.match(c.path) is not None)
        ]

    # -- transport -------------------------------------------------------------------------------
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self._check_gateway_rule(request)
        call = self._stub_request(request)
        if self.spec is not None:
            body = (
                call.json
                if call.form is None
                else {k: v[0] if len(v) == 1 else v for k, v in call.form.items()}
            )
            self.spec.check_request(call.method, call.path, call.query, body, headers=call.headers)
        found = self._index.get(call.method, TemplateIndex()).match(call.path)
        if found is None:
            self.calls.append(call)
            if self.cassette is not None:
                return self._checked(call, await self.cassette.handle_async_request(request))
            routes = "\n".join(f"  {m} {t}" for m, t in self._routes) or "  (none)"
            raise UnexpectedRequest(f"no route for {call.method} {call.path}; routes:\n{routes}")
        template, raw_params = found
        call = replace(call, path_params={k: unquote(v) for k, v in raw_params.items()})
        self.calls.append(call)
        answer = self._routes[(call.method, template)].next_answer()(call)
        return self._checked(call, _to_response(answer, request))

    def _checked(self, call: StubRequest, response: httpx.Response) -> httpx.Response:
        """The answer, after checking it against the description (a fake answer the real
        provider could never give makes a test pass for the wrong reason)."""
        if self.spec is not None and self.check_responses and not _is_gateway_error(response):
            content = response.content if hasattr(response, "_content") else b""
            try:
                answer = _json.loads(content) if content else None
            except ValueError:
                answer = None
            self.spec.check_response(
                call.method, call.path, response.status_code, answer,
                content_type=response.headers.get("content-type"),
            )  # fmt: skip
        return response

    async def aclose(self) -> None:
        if self.cassette is not None:
            await self.cassette.aclose()

    def _check_gateway_rule(self, request: httpx.Request) -> None:
        prefix = f"{self.gateway_url}/v1/proxy/{self.connection_id}/"
        if not str(request.url).startswith(prefix):
            raise UnexpectedRequest(
                f"{request.method} {request.url} does not go through the gateway ({prefix}...)"
            )
        if self.forbid_credentials:
            sent = sorted(h for h in request.headers if h.lower() in CREDENTIAL_HEADERS)
            if sent:
                raise UnexpectedRequest(
                    f"the connector sent {', '.join(sent)}: connectors never hold credentials, "
                    "the gateway injects them"
                )

    def _stub_request(self, request: httpx.Request) -> StubRequest:
        body = Body.parse(request.content, request.headers.get("content-type"))
        return StubRequest(
            method=request.method.upper(),
            path=provider_path(request.url.raw_path.decode()),
            query=parse_qs(request.url.query.decode(), keep_blank_values=True),
            json=body.json,
            form=body.form,
            headers=with_default_headers(request.headers, self.default_headers),
        )


def _is_gateway_error(response: httpx.Response) -> bool:
    """The gateway's own refusals (``{"error": {"code", "message", "details"}}``) are not the
    provider's answers, so no description covers them."""
    if not hasattr(response, "_content") or not response.content:
        return False
    try:
        body = _json.loads(response.content)
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and isinstance(error.get("code"), str) and "details" in error


def with_default_headers(sent: httpx.Headers, defaults: Mapping[str, str]) -> httpx.Headers:
    """The headers the provider receives: the connector's, plus the manifest's default headers
    for names it did not set, as the gateway does (docs/connector-sdk.md, "What the gateway
    adds"). ``Accept: */*`` (httpx's default) counts as no preference, so a default Accept
    replaces it."""
    out = httpx.Headers(sent)
    for name, value in defaults.items():
        current = out.get(name)
        if current is None or (name == "accept" and current.strip() == "*/*"):
            out[name] = value
    return out


def _handler(answer: Answer | Handler, status: int, json: Any, headers: dict[str, str]) -> Handler:
    if callable(answer):
        return answer
    if answer is not None:
        return lambda _: answer
    return lambda _: (status, json, headers)


def _to_response(answer: Answer, request: httpx.Request) -> httpx.Response:
    if isinstance(answer, httpx.Response):
        return answer
    status, body, headers = 200, answer, {}
    if isinstance(answer, tuple):
        status, body = answer[0], answer[1]
        headers = dict(answer[2]) if len(answer) > 2 else {}
    elif isinstance(answer, int):
        status, body = answer, None
    elif answer is None:
        status = 204
    if body is None:
        return httpx.Response(status, headers=headers, request=request)
    if isinstance(body, str):
        return httpx.Response(status, headers=headers, text=body, request=request)
    return httpx.Response(status, headers=headers, json=body, request=request)


class DirectProviderTransport(httpx.AsyncBaseTransport):
    """Plays the gateway's part on a developer machine, to record cassettes against the real API.

        key = os.environ["STATUSPAGE_API_KEY"]
        auth = {"Authorization": f"OAuth {key}"}
        real = DirectProviderTransport("https://api.statuspage.io/v1", auth_headers=auth)
        RecordReplayTransport(cassette, mode="record", real=real, secrets=[key])

    ``/v1/proxy/{connection_id}/{path}`` goes to ``{base_url}/{path}`` with ``auth_headers`` added.
    Only for recording: in a hub the gateway injects credentials and connectors never see one.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth_headers: Mapping[str, str] | None = None,
        default_headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._added = {**(default_headers or {}), **(auth_headers or {})}
        self._inner = transport or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        query = request.url.query.decode()
        url = self.base_url + provider_path(request.url.raw_path.decode()) + (f"?{query}" if query else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        forwarded = httpx.Request(
            request.method, url, headers={**headers, **self._added}, content=request.content
        )
        return await self._inner.handle_async_request(forwarded)

    async def aclose(self) -> None:
        await self._inner.aclose()
