"""OpenAPI schemas → self-contained JSON Schema 2020-12, converted lazily, one target at a time.

Only what an operation reaches is converted (a spec of several megabytes costs nothing until
used), and each ``$ref`` target is converted once and cached for every later operation.

Dialect differences handled:

- every local ``$ref`` (``#/components/schemas/x``, Swagger's ``#/definitions/x``) becomes a
  ``$defs`` entry of the compiled schema, so recursion keeps working;
- OpenAPI 3.0 ``nullable: true`` (Swagger ``x-nullable``) → ``type: [t, "null"]`` or
  ``anyOf [..., {type: null}]``; ``$ref`` siblings are ignored, as 3.0 says;
- draft-4 boolean ``exclusiveMinimum``/``exclusiveMaximum`` → the numeric form;
- ``readOnly`` properties are not required in a request;
- annotations JSON Schema does not know (``discriminator``, ``xml``, ``example``, ``x-*``) go.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import quote, unquote

Dialect = Literal["2.0", "3.0", "3.1"]

_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SCHEMA_VALUES = frozenset(
    {
        "items",
        "additionalItems",
        "additionalProperties",
        "not",
        "if",
        "then",
        "else",
        "contains",
        "propertyNames",
        "unevaluatedProperties",
        "unevaluatedItems",
        "contentSchema",
    }
)
_DROPPED = frozenset({"discriminator", "xml", "example", "externalDocs", "$id", "$schema"})
_COMBINATORS = ("oneOf", "anyOf", "allOf", "not", "$ref")


class SpecError(Exception):
    """The description itself cannot be used (an unresolvable or external ``$ref``...)."""


def ref_key(ref: str) -> str:
    """``#/components/schemas/a%20b`` → ``components/schemas/a b`` (still ~-escaped)."""
    if not ref.startswith("#"):
        raise SpecError(f"external $ref {ref!r} is not supported; bundle the description first")
    fragment = unquote(ref[1:])
    if fragment and not fragment.startswith("/"):
        raise SpecError(f"$ref {ref!r}: only JSON Pointer fragments are supported")
    return fragment[1:]


def resolve_pointer(document: Any, key: str) -> Any:
    node = document
    for token in key.split("/") if key else []:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise SpecError(f"$ref #/{key} does not resolve")
    return node


def _defs_ref(key: str) -> str:
    return "#/$defs/" + quote(key.replace("~", "~0").replace("/", "~1"), safe="")


class SchemaCompiler:
    def __init__(self, document: Mapping[str, Any], dialect: Dialect) -> None:
        self._doc = document
        self._dialect = dialect
        self._targets: dict[str, tuple[Any, frozenset[str]]] = {}

    def deref(self, node: Any) -> Any:
        """Follow ``$ref`` chains of non-schema objects (parameters, request bodies)."""
        seen: set[str] = set()
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            key = ref_key(node["$ref"])
            if key in seen:
                raise SpecError(f"$ref cycle at #/{key}")
            seen.add(key)
            node = resolve_pointer(self._doc, key)
        return node

    def compile(self, schema: Any) -> dict[str, Any]:
        """A schema with every target it reaches under ``$defs``, ready for a validator."""
        refs: set[str] = set()
        root = self._convert(schema, refs)
        defs: dict[str, Any] = {}
        pending = list(refs)
        while pending:
            key = pending.pop()
            if key in defs:
                continue
            converted, more = self._target(key)
            defs[key] = converted
            pending.extend(more - defs.keys())
        return {"$defs": defs, "allOf": [root]}

    def _target(self, key: str) -> tuple[Any, frozenset[str]]:
        if key not in self._targets:
            refs: set[str] = set()
            converted = self._convert(resolve_pointer(self._doc, key), refs)
            self._targets[key] = (converted, frozenset(refs))
        return self._targets[key]

    def _convert(self, node: Any, refs: set[str]) -> Any:
        if not isinstance(node, Mapping):
            return node  # true/false schemas, or malformed input jsonschema will report
        if isinstance(node.get("$ref"), str):
            key = ref_key(node["$ref"])
            refs.add(key)
            reference = {"$ref": _defs_ref(key)}
            rest = {k: v for k, v in node.items() if k != "$ref"}
            if self._dialect != "3.1" or not rest:
                return reference
            return {"allOf": [reference, self._convert(rest, refs)]}
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROPPED or (key.startswith("x-") and key != "x-nullable"):
                continue
            if key in _SCHEMA_MAPS and isinstance(value, Mapping):
                out[key] = {name: self._convert(sub, refs) for name, sub in value.items()}
            elif key in _SCHEMA_LISTS and isinstance(value, list):
                out[key] = [self._convert(sub, refs) for sub in value]
            elif key in _SCHEMA_VALUES:
                out[key] = (
                    [self._convert(sub, refs) for sub in value]
                    if isinstance(value, list)
                    else self._convert(value, refs)
                )
            else:
                out[key] = value
        _drop_read_only_required(out, node)
        if self._dialect != "3.1":
            _numeric_exclusive_bounds(out)
            if out.get("type") == "file":  # Swagger 2.0 uploads: nothing to check in JSON
                del out["type"]
        return _nullable(out)


def _drop_read_only_required(out: dict[str, Any], node: Mapping[str, Any]) -> None:
    properties = node.get("properties")
    if not isinstance(out.get("required"), list) or not isinstance(properties, Mapping):
        return
    read_only = {
        name
        for name, prop in properties.items()
        if isinstance(prop, Mapping) and prop.get("readOnly") is True
    }
    if read_only:
        out["required"] = [name for name in out["required"] if name not in read_only]
        if not out["required"]:
            del out["required"]


def _numeric_exclusive_bounds(out: dict[str, Any]) -> None:
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        flag = out.get(exclusive)
        if isinstance(flag, bool):
            del out[exclusive]
            if flag and bound in out:
                out[exclusive] = out.pop(bound)


def _nullable(out: dict[str, Any]) -> Any:
    flag = out.pop("nullable", None)
    flag = out.pop("x-nullable", flag)
    if flag is not True:
        return out
    declared = out.get("type")
    if isinstance(declared, str) and not any(k in out for k in _COMBINATORS):
        out["type"] = [declared, "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    return {"anyOf": [out, {"type": "null"}]}
