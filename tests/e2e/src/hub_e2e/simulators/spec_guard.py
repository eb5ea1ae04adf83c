"""Hold a provider simulator to the provider's published API description.

Requests are checked with the SDK test kit's :class:`OpenApiSpec` (the same check the connector
contract tests use); answers against the response schema the description gives for the status
code. The descriptions are never copied into this repository: they are read from
``$HUB_SPECS_DIR`` (see ``hub_connector_sdk.testkit.specs``). Without them the simulator still
runs (demo mode) and says so at start-up; ``--require-spec`` makes their absence an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from hub_connector_sdk.testkit import OpenApiSpec, SpecViolation, spec_file
from hub_connector_sdk.testkit._openapi_schema import SchemaCompiler

_SSE = "text/event-stream"


class AnswerViolation(AssertionError):
    """The simulator produced an answer its provider's description does not allow (a simulator bug)."""


@dataclass
class SpecGuard:
    """Request and answer checks for one description; a guard without a spec checks nothing."""

    spec: OpenApiSpec | None
    _answers: dict[tuple[str, str, int, str], Draft202012Validator | None] = field(default_factory=dict)
    _compiler: SchemaCompiler | None = None

    @classmethod
    def load(cls, name: str | None, *, required: bool = False) -> SpecGuard:
        path = spec_file(name) if name else None
        if path is None and required:
            raise FileNotFoundError(f"provider API description {name!r} not found (set HUB_SPECS_DIR)")
        return cls(OpenApiSpec.load(path) if path is not None else None)

    @property
    def active(self) -> bool:
        return self.spec is not None

    def check_request(
        self, method: str, path: str, query: Mapping[str, Any], body: Any, headers: Mapping[str, str]
    ) -> str | None:
        """The operation's path template, after raising SpecViolation for a request it does not allow."""
        if self.spec is None:
            return None
        return self.spec.validate_request(method, path, dict(query), body, headers=headers).template

    def check_answer(self, method: str, template: str | None, status: int, body: Any) -> None:
        if self.spec is None or template is None:
            return
        validator = self._answer_validator(method.upper(), template, status)
        if validator is None:
            return
        problems = [
            f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in validator.iter_errors(body)
        ]
        if problems:
            raise AnswerViolation(
                f"{method} {template} {status} answer breaks the description:\n  - "
                + "\n  - ".join(problems[:10])
            )

    def check_stream_event(self, method: str, template: str | None, data: Any) -> None:
        """One server-sent event's data against the operation's ``text/event-stream`` schema
        (OpenAI describes each streamed chunk that way)."""
        if self.spec is None or template is None:
            return
        self._raise(f"{method} {template} streamed event", self._validator(method, template, 200, _SSE), data)

    def check_schema(self, name: str, value: Any, what: str) -> None:
        """A value against a named schema of the description (``#/components/schemas/<name>``),
        for streamed events the description only describes in parts (Anthropic's)."""
        if self.spec is None:
            return
        key = ("schema", name, 0, "")
        if key not in self._answers:
            compiler = self._schema_compiler()
            self._answers[key] = Draft202012Validator(
                compiler.compile({"$ref": f"#/components/schemas/{name}"})
            )
        self._raise(what, self._answers[key], value)

    @staticmethod
    def _raise(what: str, validator: Draft202012Validator | None, body: Any) -> None:
        if validator is None:
            return
        problems = [
            f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in validator.iter_errors(body)
        ]
        if problems:
            raise AnswerViolation(f"{what} breaks the description:\n  - " + "\n  - ".join(problems[:10]))

    def _schema_compiler(self) -> SchemaCompiler:
        assert self.spec is not None
        if self._compiler is None:
            self._compiler = SchemaCompiler(self.spec.document, self.spec.dialect)
        return self._compiler

    def _answer_validator(self, method: str, template: str, status: int) -> Draft202012Validator | None:
        return self._validator(method, template, status, "application/json")

    def _validator(self, method: str, template: str, status: int, media: str) -> Draft202012Validator | None:
        method = method.upper()
        key = (method, template, status, media)
        if key in self._answers:
            return self._answers[key]
        compiler = self._schema_compiler()
        assert self.spec is not None
        operation = compiler.deref(self.spec.document["paths"][template]).get(method.lower(), {})
        responses = operation.get("responses") or {}
        answer = compiler.deref(responses.get(str(status)) or responses.get("default") or {})
        schema = ((answer.get("content") or {}).get(media) or {}).get("schema")
        validator = Draft202012Validator(compiler.compile(schema)) if schema is not None else None
        self._answers[key] = validator
        return validator


class WebhookGuard:
    """Outgoing webhook payloads checked against the provider's published payload schemas
    (``#/components/schemas/webhook-<event>-<action>`` in GitHub's description)."""

    def __init__(self, document: Mapping[str, Any] | None) -> None:
        self.document = document
        self._compiler = SchemaCompiler(document, "3.1") if document is not None else None
        self._validators: dict[str, Draft202012Validator] = {}

    @classmethod
    def load(cls, name: str | None) -> WebhookGuard:
        path = spec_file(name) if name else None
        return cls(json.loads(path.read_text(encoding="utf-8")) if path is not None else None)

    @property
    def active(self) -> bool:
        return self.document is not None

    def problems(self, schema_name: str, payload: Any) -> list[str]:
        if self._compiler is None or self.document is None:
            return []
        if schema_name not in self._validators:
            schemas = self.document.get("components", {}).get("schemas", {})
            if schema_name not in schemas:
                return [f"the description has no payload schema {schema_name!r}"]
            compiled = self._compiler.compile({"$ref": f"#/components/schemas/{schema_name}"})
            self._validators[schema_name] = Draft202012Validator(compiled)
        return [
            f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in self._validators[schema_name].iter_errors(payload)
        ]


__all__ = ["AnswerViolation", "SpecGuard", "SpecViolation", "WebhookGuard"]
