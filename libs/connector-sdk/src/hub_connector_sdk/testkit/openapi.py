"""Check a connector's requests against the provider's published API description.

    spec = OpenApiSpec.load(specs / "github-rest.json")
    spec.validate_request("POST", "/repos/acme/app/issues", json_body={"title": "Bug"})

OpenAPI 3.0 and 3.1 JSON files are the target; Swagger 2.0 (body and formData parameters,
``basePath``) works too. Loading indexes the paths only; schemas are converted the first time
an operation is validated, then cached. Paths are relative to the API's server URL, exactly as
a connector passes them to ``ProviderClient``; a server path prefix (``/v1``) may be included.
"""

from __future__ import annotations

import contextlib
import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from jsonschema import Draft202012Validator

from hub_connector_sdk._schema_errors import describe_errors
from hub_connector_sdk.testkit._openapi_params import (
    IGNORED_HEADERS,
    Parameter,
    collect_parameters,
    parameter_schema,
    wire_values,
)
from hub_connector_sdk.testkit._openapi_schema import Dialect, SchemaCompiler, SpecError
from hub_connector_sdk.testkit._paths import TemplateIndex, path_segments

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_JSON_MEDIA = ("application/json",)
_FORM_MEDIA = ("application/x-www-form-urlencoded", "multipart/form-data")

__all__ = ["OpenApiSpec", "Operation", "SpecError", "SpecViolation"]


class SpecViolation(AssertionError):
    """A request the description does not allow; ``problems`` lists every reason found."""

    def __init__(self, method: str, path: str, problems: list[str], *, operation: str | None = None) -> None:
        self.method = method
        self.path = path
        self.problems = problems
        self.operation = operation
        matched = f" (operation {method} {operation})" if operation and operation != path else ""
        super().__init__(
            f"{method} {path}{matched} does not match the API description:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    path_params: dict[str, str]  # percent-decoded
    operation_id: str | None = None


@dataclass(frozen=True)
class _Body:
    required: bool
    validator: Draft202012Validator | None  # None: the operation takes no body
    # Swagger 2.0 formData fields declared boolean/integer/number: sent form-encoded, they are
    # text on the wire ("true", "42") and are read as the declared type before the check.
    form_types: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Plan:
    parameters: list[Parameter]
    body: _Body


class OpenApiSpec:
    def __init__(
        self, document: Mapping[str, Any], *, source: str = "<memory>", path_prefix: str = ""
    ) -> None:
        """
        :param path_prefix: prepended to a request path when the description's paths include
            part of the connector's base URL (GitLab's paths start with ``/api/v4``).
        """
        self.document = document
        self.source = source
        self.dialect = _dialect(document, source)
        self.title = str((document.get("info") or {}).get("title", source))
        self.base_path = _base_path(document, self.dialect)
        self.path_prefix = "/" + path_prefix.strip("/") if path_prefix.strip("/") else ""
        self._paths: Mapping[str, Any] = document.get("paths") or {}
        self._index = TemplateIndex(self._paths)
        self._compiler = SchemaCompiler(document, self.dialect)
        self._plans: dict[tuple[str, str], _Plan] = {}
        self._answers: dict[tuple[str, str, int], _Body | None] = {}

    @classmethod
    def load(cls, path: str | Path, *, path_prefix: str = "") -> OpenApiSpec:
        file = Path(path)
        try:
            document = json.loads(file.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise SpecError(f"{file} is not JSON ({exc}); convert YAML descriptions to JSON first") from None
        return cls(document, source=str(file), path_prefix=path_prefix)

    # -- lookup ------------------------------------------------------------------------------------
    def find_operation(self, method: str, path: str) -> Operation:
        """The operation a concrete request path names; SpecViolation when there is none."""
        verb = method.upper()
        for candidate in self._candidates(path):
            found = self._index.match(candidate)
            if found is None:
                continue
            template, raw_params = found
            item = self._compiler.deref(self._paths[template])
            operation = item.get(verb.lower()) if isinstance(item, Mapping) else None
            if not isinstance(operation, Mapping):
                allowed = sorted(m.upper() for m in item if m in HTTP_METHODS)
                raise SpecViolation(
                    verb,
                    path,
                    [f"{template} has no {verb} operation (it has {', '.join(allowed) or 'none'})"],
                    operation=template,
                )
            return Operation(
                method=verb,
                template=template,
                path_params={k: unquote(v) for k, v in raw_params.items()},
                operation_id=operation.get("operationId"),
            )
        close = difflib.get_close_matches(_plain(path), self._index.templates, n=3, cutoff=0.5)
        hint = f" (closest: {', '.join(close)})" if close else ""
        raise SpecViolation(verb, path, [f"no path of {self.title} matches {_plain(path)}{hint}"])

    def _candidates(self, path: str) -> list[str]:
        plain = _plain(path)
        found = [plain]
        if self.base_path and (plain == self.base_path or plain.startswith(self.base_path + "/")):
            found.append(plain[len(self.base_path) :] or "/")
        if self.path_prefix:
            found.append(self.path_prefix + plain)
        return found

    # -- validation --------------------------------------------------------------------------------
    def validate_request(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None = None,
        json_body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        strict_query: bool = True,
    ) -> Operation:
        """Raise SpecViolation listing everything wrong with a request; return its operation.

        :param query: values as given to httpx (lists repeat a key); a ``?query`` in ``path``
            counts too.
        :param json_body: the JSON body (or the fields of a form body), ``None`` for no body.
        :param headers: checked for required header parameters only when given.
        :param strict_query: query parameters the description does not declare are problems.
        """
        operation = self.find_operation(method, path)
        plan = self._plan(operation)
        sent = _query_values(path, query)
        problems: list[str] = []
        for param in plan.parameters:
            if param.location == "path":
                value = operation.path_params.get(param.name)
                if value is not None:
                    problems += param.check([value])
            elif param.location == "query":
                problems += _check_present(param, _query_for(param, sent))
            elif param.location == "header" and headers is not None:
                if param.name.lower() in IGNORED_HEADERS:
                    continue
                lowered = {k.lower(): v for k, v in headers.items()}
                value = lowered.get(param.name.lower())
                problems += _check_present(param, None if value is None else [value])
        if strict_query:
            declared = {p.name for p in plan.parameters if p.location == "query"}
            for name in sent:
                if name not in declared and name.split("[", 1)[0] not in declared:
                    problems.append(f"query parameter {name!r} is not in the description")
        if plan.body.form_types and _is_form(headers) and isinstance(json_body, Mapping):
            json_body = _typed_form(json_body, plan.body.form_types)
        problems += _body_problems(plan.body, json_body)
        if problems:
            raise SpecViolation(operation.method, _plain(path), problems, operation=operation.template)
        return operation

    def validate_response(
        self, method: str, path: str, status: int, json_body: Any = None, *, content_type: str | None = None
    ) -> Operation:
        """Raise SpecViolation when an answer breaks the response schema the description gives
        for ``status`` (else ``NXX``, else ``default``). A status the operation does not
        document, or a JSON body where it declares none, is a problem too; a declared non-JSON
        media type is not checked beyond that."""
        operation = self.find_operation(method, path)
        key = (operation.method, operation.template, status)
        if key not in self._answers:
            self._answers[key] = self._response(operation, status)
        declared = self._answers[key]
        problems: list[str] = []
        if declared is None:
            problems.append(f"status {status} is not documented for this operation")
        elif (
            declared.validator is not None
            and json_body is not None
            and (content_type is None or "json" in content_type.lower())
        ):
            problems += [
                f"response{e['path'] if e['path'] != '/' else ''}: {e['message']}"
                for e in describe_errors(declared.validator, json_body)
            ]
        if problems:
            raise SpecViolation(operation.method, _plain(path), problems, operation=operation.template)
        return operation

    def _response(self, operation: Operation, status: int) -> _Body | None:
        item = self._compiler.deref(self._paths[operation.template])
        responses = item[operation.method.lower()].get("responses") or {}
        if not responses:  # nothing documented at all: nothing to hold the answer to
            return _Body(required=False, validator=None)
        raw = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
        answer = self._compiler.deref(raw)
        if not isinstance(answer, Mapping):
            return None
        if self.dialect == "2.0":
            schema = answer.get("schema")
        else:
            content = answer.get("content") or {}
            media = _pick_media(list(content))
            schema = (content.get(media) or {}).get("schema") if media else None
            if media is not None and "json" not in media:
                schema = None
        validator = Draft202012Validator(self._compiler.compile(schema)) if schema is not None else None
        return _Body(required=False, validator=validator)

    def _plan(self, operation: Operation) -> _Plan:
        key = (operation.method, operation.template)
        if key not in self._plans:
            item = self._compiler.deref(self._paths[operation.template])
            raw_op = item[operation.method.lower()]
            params = collect_parameters(item, raw_op, self._compiler, self.dialect)
            body = self._body(raw_op, params)
            self._plans[key] = _Plan([p for p in params if p.location in ("path", "query", "header")], body)
        return self._plans[key]

    def _body(self, raw_op: Mapping[str, Any], params: list[Parameter]) -> _Body:
        if self.dialect == "2.0":
            return self._swagger_body(raw_op)
        request_body = self._compiler.deref(raw_op.get("requestBody"))
        if not isinstance(request_body, Mapping):
            return _Body(required=False, validator=None)
        content = request_body.get("content") or {}
        media = _pick_media(list(content))
        schema = (content.get(media) or {}).get("schema", {}) if media else {}
        return _Body(
            required=bool(request_body.get("required")),
            validator=Draft202012Validator(self._compiler.compile(schema)),
        )

    def _swagger_body(self, raw_op: Mapping[str, Any]) -> _Body:
        body_param: Mapping[str, Any] | None = None
        form: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        form_types: dict[str, str] = {}
        for raw in raw_op.get("parameters", []):
            param = self._compiler.deref(raw)
            if param.get("in") == "body":
                body_param = param
            elif param.get("in") == "formData":
                form["properties"][param["name"]] = parameter_schema(param, "2.0")
                if param.get("type") in ("boolean", "integer", "number"):
                    form_types[param["name"]] = param["type"]
                if param.get("required"):
                    form["required"].append(param["name"])
        if body_param is not None:
            return _Body(
                required=bool(body_param.get("required")),
                validator=Draft202012Validator(self._compiler.compile(body_param.get("schema", {}))),
            )
        if form["properties"]:
            return _Body(
                required=bool(form["required"]),
                validator=Draft202012Validator(self._compiler.compile(form)),
                form_types=form_types,
            )
        return _Body(required=False, validator=None)


def _check_present(param: Parameter, values: list[str] | None) -> list[str]:
    if values is None:
        return [f"required {param.label} is missing"] if param.required else []
    return param.check(values)


def _query_for(param: Parameter, sent: dict[str, list[str]]) -> list[str] | None:
    if param.name in sent:
        return sent[param.name]
    if any(name.startswith(param.name + "[") for name in sent):  # deepObject: a[b]=c
        return []
    return None


def _is_form(headers: Mapping[str, str] | None) -> bool:
    kind = next((v for k, v in (headers or {}).items() if k.lower() == "content-type"), "")
    return kind.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded"


def _typed_form(fields: Mapping[str, Any], types: Mapping[str, str]) -> dict[str, Any]:
    """Form fields with the declared non-string types read from their text ("true" → True)."""
    out = dict(fields)
    for name, kind in types.items():
        value = out.get(name)
        if not isinstance(value, str):
            continue
        if kind == "boolean" and value in ("true", "false"):
            out[name] = value == "true"
        elif kind in ("integer", "number"):
            with contextlib.suppress(ValueError):  # left as text: the check names the problem
                out[name] = int(value) if kind == "integer" else float(value)
    return out


def _body_problems(body: _Body, json_body: Any) -> list[str]:
    if json_body is None:
        return ["the request body is required"] if body.required else []
    if body.validator is None:
        return ["the operation takes no request body"]
    return [
        f"body{e['path'] if e['path'] != '/' else ''}: {e['message']}"
        for e in describe_errors(body.validator, json_body)
    ]


def _pick_media(types: list[str]) -> str | None:
    for wanted in _JSON_MEDIA:
        if wanted in types:
            return wanted
    for media in types:
        if media.split(";", 1)[0].endswith("json"):
            return media
    for wanted in _FORM_MEDIA:
        if wanted in types:
            return wanted
    return types[0] if types else None


def _plain(path: str) -> str:
    return "/" + "/".join(path_segments(path))


def _query_values(path: str, query: Mapping[str, Any] | None) -> dict[str, list[str]]:
    sent: dict[str, list[str]] = {}
    if "?" in path:
        for name, values in parse_qs(path.split("?", 1)[1], keep_blank_values=True).items():
            sent.setdefault(name, []).extend(values)
    for name, value in (query or {}).items():
        sent.setdefault(str(name), []).extend(wire_values(value))  # None goes out as "name="
    return sent


def _dialect(document: Mapping[str, Any], source: str) -> Dialect:
    version = str(document.get("openapi") or document.get("swagger") or "")
    if version.startswith("3.0"):
        return "3.0"
    if version.startswith("3.1"):
        return "3.1"
    if version.startswith("2."):
        return "2.0"
    raise SpecError(f"{source}: not an OpenAPI 3.x or Swagger 2.0 description (version {version!r})")


def _base_path(document: Mapping[str, Any], dialect: Dialect) -> str:
    if dialect == "2.0":
        raw = str(document.get("basePath") or "")
    else:
        servers = document.get("servers") or [{}]
        raw = urlsplit(str(servers[0].get("url", ""))).path
    return "/" + raw.strip("/") if raw.strip("/") else ""
