"""Contract tests: every request a connector makes, and every answer it gets, held to the
provider's published API description.

    contract = provider_contract("github")          # skips the test when the description is absent
    stub = GatewayStub(spec=contract, check_responses=True)
    ...                                             # run actions: each request and answer is checked

    async with httpx.AsyncClient(transport=ContractTransport(contract, inner)) as http:
        ...                                         # or wrap any transport (a simulator's, a recorder)

A request is checked for its method and path (an operation of the description), path and
query parameter values, unknown query parameters, required header parameters (after the
manifest's default headers are added, as the gateway adds them) and the body schema. An answer
is checked against the response schema documented for its status. GraphQL providers (Linear)
are checked by validating each query document, with its variables, against the published SDL
schema (needs ``graphql-core``: ``pip install hub-connector-sdk[contract]``).

The descriptions are never copied into a repository: they are read from ``$HUB_SPECS_DIR``
(see :mod:`hub_connector_sdk.testkit.specs`). :data:`DESCRIPTIONS` names the file(s) of each
provider the hub ships a connector for; pass your own for other providers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs

import httpx

from hub_connector_sdk.testkit.cassette import Body
from hub_connector_sdk.testkit.openapi import OpenApiSpec, Operation, SpecViolation
from hub_connector_sdk.testkit.specs import find_specs_dir


@dataclass(frozen=True)
class Description:
    """Where a provider's description lives: file names in the specs folder, tried in order
    (several when one provider's operations are split across files, e.g. by API version)."""

    files: tuple[str, ...]
    path_prefix: str = ""
    graphql_path: str | None = None  # for GraphQL descriptions: the endpoint path, e.g. "graphql"


DESCRIPTIONS: dict[str, Description] = {
    "github": Description(("github-rest.json",)),
    "gitlab": Description(("gitlab-v4.json",), path_prefix="/api/v4"),
    "slack": Description(("slack-web-api.json",)),
    "jira": Description(("jira-platform-v3.json",)),
    "confluence": Description(("confluence-v2.json",)),
    "notion": Description(
        (
            "notion.json",
            "notion-database-query-2022-06-28.json",
            "notion-oauth-token-create.json",
            "notion-oauth-token-refresh.json",
        ),
        path_prefix="/v1",
    ),
    "openai": Description(("openai.json",)),
    "anthropic": Description(("anthropic.json",)),
    "linear": Description(("linear-schema.graphql",), graphql_path="graphql"),
}


class Contract(Protocol):
    name: str

    def check_request(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> Operation | None: ...

    def check_response(
        self, method: str, path: str, status: int, body: Any = None, *, content_type: str | None = None
    ) -> None: ...


@dataclass
class OpenApiContract:
    """One provider's OpenAPI/Swagger description(s): a request passes when one file allows it."""

    name: str
    specs: list[OpenApiSpec]
    strict_query: bool = True
    checked: list[str] = field(default_factory=list)  # "METHOD template" of every checked request

    def check_request(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> Operation:
        failures: list[SpecViolation] = []
        for spec in self.specs:
            try:
                operation = spec.validate_request(
                    method, path, query, body, headers=headers, strict_query=self.strict_query
                )
            except SpecViolation as exc:
                failures.append(exc)
                continue
            self.checked.append(f"{operation.method} {operation.template}")
            return operation
        raise _best(failures)

    def check_response(
        self, method: str, path: str, status: int, body: Any = None, *, content_type: str | None = None
    ) -> None:
        failures: list[SpecViolation] = []
        for spec in self.specs:
            try:
                spec.validate_response(method, path, status, body, content_type=content_type)
            except SpecViolation as exc:
                failures.append(exc)
                continue
            return
        raise _best(failures)


def as_contract(spec: OpenApiSpec | Contract) -> Contract:
    """A lone OpenApiSpec as a contract (what GatewayStub's ``spec=`` accepts)."""
    return OpenApiContract(spec.title, [spec]) if isinstance(spec, OpenApiSpec) else spec


def _best(failures: list[SpecViolation]) -> SpecViolation:
    """The most telling failure: one from a file that knows the operation, if any does."""
    known = [f for f in failures if f.operation is not None]
    return (known or failures)[0]


@dataclass
class GraphQLContract:
    """A GraphQL provider: every POST to ``graphql_path`` must carry a query document valid
    against the published schema, with variables of the declared types."""

    name: str
    schema_sdl: str
    graphql_path: str = "graphql"
    checked: list[str] = field(default_factory=list)  # operation names

    def __post_init__(self) -> None:
        try:
            from graphql import build_schema
        except ImportError:  # pragma: no cover - depends on the optional extra
            raise ImportError(
                "GraphQL contracts need graphql-core: pip install 'hub-connector-sdk[contract]'"
            ) from None
        self._schema = build_schema(self.schema_sdl)

    def check_request(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        from graphql import GraphQLError, get_variable_values, parse, validate

        plain = "/" + path.split("?", 1)[0].strip("/")
        if method.upper() != "POST" or plain != "/" + self.graphql_path.strip("/"):
            raise SpecViolation(method.upper(), plain, [f"{self.name} takes POST /{self.graphql_path} only"])
        if not isinstance(body, Mapping) or not isinstance(body.get("query"), str):
            raise SpecViolation("POST", plain, ["body must be a JSON object with a string 'query'"])
        try:
            document = parse(body["query"])
        except GraphQLError as exc:
            raise SpecViolation("POST", plain, [f"query does not parse: {exc.message}"]) from None
        problems = [f"query: {e.message}" for e in validate(self._schema, document)]
        variables = body.get("variables") or {}
        if not isinstance(variables, Mapping):
            problems.append("variables must be a JSON object")
            variables = {}
        for definition in getattr(document, "definitions", []):
            name = getattr(getattr(definition, "name", None), "value", None)
            var_defs = getattr(definition, "variable_definitions", None) or []
            coerced = get_variable_values(self._schema, var_defs, dict(variables))
            if isinstance(coerced, list):  # the errors
                problems += [e.message for e in coerced]
            if name:
                self.checked.append(str(name))
        if problems:
            raise SpecViolation("POST", plain, problems[:20])

    def check_response(
        self, method: str, path: str, status: int, body: Any = None, *, content_type: str | None = None
    ) -> None:
        if status == 200 and not (isinstance(body, Mapping) and ("data" in body or "errors" in body)):
            raise SpecViolation(method.upper(), path, ["a GraphQL answer has 'data' or 'errors'"])


def load_contract(
    name: str,
    *,
    description: Description | None = None,
    specs_dir: str | Path | None = None,
    strict_query: bool = True,
) -> OpenApiContract | GraphQLContract | None:
    """The contract of provider ``name`` (see :data:`DESCRIPTIONS`), None when its files are absent."""
    described = description or DESCRIPTIONS.get(name)
    if described is None:
        raise KeyError(f"no description known for provider {name!r}; pass description=")
    folder = Path(specs_dir) if specs_dir is not None else find_specs_dir()
    if folder is None:
        return None
    paths = [folder / f for f in described.files if (folder / f).is_file()]
    if not paths:
        return None
    if described.graphql_path is not None:
        return GraphQLContract(name, paths[0].read_text(encoding="utf-8"), described.graphql_path)
    specs = [OpenApiSpec.load(p, path_prefix=described.path_prefix) for p in paths]
    return OpenApiContract(name, specs, strict_query=strict_query)


_CACHE: dict[tuple[str, Description | None, bool], OpenApiContract | GraphQLContract] = {}


def provider_contract(
    name: str, *, description: Description | None = None, strict_query: bool = True
) -> OpenApiContract | GraphQLContract:
    """The contract for a test (loaded once per process); skips the test when the description
    is not available, naming where it looked."""
    key = (name, description, strict_query)
    if key not in _CACHE:
        loaded = load_contract(name, description=description, strict_query=strict_query)
        if loaded is None:
            import pytest  # only tests call this

            files = (description or DESCRIPTIONS[name]).files
            where = find_specs_dir() or "no specs folder (set HUB_SPECS_DIR)"
            pytest.skip(f"{name}: provider description {files[0]!r} not found in {where}; contract skipped")
        _CACHE[key] = loaded
    return _CACHE[key]


class ContractTransport(httpx.AsyncBaseTransport):
    """Checks each request before, and each answer after, the wrapped transport handles it.

    ``base_path``: the part of the URL before the provider path (``/v1/proxy/{id}`` in front of
    a gateway, the simulator's prefix if any). Violations raise by default; with
    ``collect=True`` they are kept in ``violations`` and the exchange goes on.
    """

    def __init__(
        self,
        contract: Contract,
        inner: httpx.AsyncBaseTransport,
        *,
        base_path: str = "",
        check_responses: bool = True,
        collect: bool = False,
    ) -> None:
        self.contract = contract
        self._inner = inner
        self._base = "/" + base_path.strip("/") if base_path.strip("/") else ""
        self.check_responses = check_responses
        self.collect = collect
        self.violations: list[SpecViolation] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        path = request.url.raw_path.decode().split("?", 1)[0]
        if self._base and path.startswith(self._base):
            path = path[len(self._base) :] or "/"
        parsed = Body.parse(request.content, request.headers.get("content-type"))
        body = parsed.json if parsed.form is None else _flat(parsed.form)
        query = parse_qs(request.url.query.decode(), keep_blank_values=True)
        self._guard(
            lambda: self.contract.check_request(request.method, path, query, body, headers=request.headers)
        )
        response = await self._inner.handle_async_request(request)
        if self.check_responses:
            content = await response.aread()
            answer = _json_or_none(content)
            self._guard(
                lambda: self.contract.check_response(
                    request.method,
                    path,
                    response.status_code,
                    answer,
                    content_type=response.headers.get("content-type"),
                )
            )
        return response

    def _guard(self, check: Any) -> None:
        try:
            check()
        except SpecViolation as exc:
            if not self.collect:
                raise
            self.violations.append(exc)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _flat(form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    return {k: v[0] if len(v) == 1 else list(v) for k, v in form.items()}


def _json_or_none(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None
