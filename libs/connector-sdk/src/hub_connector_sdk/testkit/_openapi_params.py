"""Path, query and header parameters of one operation, and checks of the values sent.

Values arrive as strings (that is what a URL carries), so each is tried as sent and as the
number or boolean it spells; a parameter passes when any reading fits its schema.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from hub_connector_sdk._schema_errors import describe_errors
from hub_connector_sdk.testkit._openapi_schema import Dialect, SchemaCompiler

# OpenAPI: header parameters with these names are ignored (the media types and auth say it).
IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
_SWAGGER_SCHEMA_KEYS = frozenset(
    {
        "type",
        "format",
        "items",
        "enum",
        "default",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "uniqueItems",
        "multipleOf",
        "x-nullable",
    }
)


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path | query | header | cookie | body | formData
    required: bool
    validator: Draft202012Validator
    kind: str | None  # the declared top-level type: "array" and "object" need special reading

    @property
    def label(self) -> str:
        return f"{self.location} parameter {self.name!r}"

    def check(self, values: Sequence[str]) -> list[str]:
        if self.kind == "object":
            return []  # deepObject / exploded objects: presence is all a flat query tells us
        if self.kind == "array":
            candidates: list[Any] = [list(values), [_first_reading(v) for v in values]]
            if len(values) == 1 and "," in values[0]:
                candidates.append([_first_reading(v) for v in values[0].split(",")])
        elif len(values) > 1:
            return [f"{self.label} given {len(values)} times"]
        else:
            candidates = [*_readings(values[0]), values[0]]
        if any(self.validator.is_valid(c) for c in candidates):
            return []
        shown = candidates[1] if self.kind == "array" and candidates[1] != candidates[0] else candidates[0]
        return [f"{self.label}: {e['message']}" for e in describe_errors(self.validator, shown)]


def _readings(raw: str) -> list[Any]:
    """What a string could stand for, most specific first."""
    if raw in ("true", "false"):
        return [raw == "true"]
    try:
        return [int(raw)]
    except ValueError:
        pass
    try:
        return [float(raw)]
    except ValueError:
        return []


def _first_reading(raw: str) -> Any:
    readings = _readings(raw)
    return readings[0] if readings else raw


def wire_values(value: Any) -> list[str]:
    """A query value as httpx puts it on the wire (lists repeat the key)."""
    items = value if isinstance(value, list | tuple) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif item is None:
            out.append("")
        else:
            out.append(str(item))
    return out


def parameter_schema(raw: Mapping[str, Any], dialect: Dialect) -> Any:
    if dialect == "2.0":
        return {k: v for k, v in raw.items() if k in _SWAGGER_SCHEMA_KEYS}
    if "schema" in raw:
        return raw["schema"]
    content = raw.get("content")
    if isinstance(content, Mapping) and content:
        return next(iter(content.values())).get("schema", {})
    return {}


def collect_parameters(
    path_item: Mapping[str, Any], operation: Mapping[str, Any], compiler: SchemaCompiler, dialect: Dialect
) -> list[Parameter]:
    """Path-level parameters overridden by the operation's own, keyed by (name, location)."""
    merged: dict[tuple[str, str], Mapping[str, Any]] = {}
    for raw in [*path_item.get("parameters", []), *operation.get("parameters", [])]:
        param = compiler.deref(raw)
        if isinstance(param, Mapping) and "name" in param and "in" in param:
            merged[(str(param["name"]), str(param["in"]))] = param
    out: list[Parameter] = []
    for (name, location), param in merged.items():
        schema = parameter_schema(param, dialect)
        out.append(
            Parameter(
                name=name,
                location=location,
                required=bool(param.get("required")) or location == "path",
                validator=Draft202012Validator(compiler.compile(schema)),
                kind=_declared_type(compiler.deref(schema)),
            )
        )
    return out


def _declared_type(schema: Any) -> str | None:
    declared = schema.get("type") if isinstance(schema, Mapping) else None
    if isinstance(declared, list):  # 3.1: ["array", "null"]
        declared = next((t for t in declared if t != "null"), None)
    return declared if isinstance(declared, str) else None
