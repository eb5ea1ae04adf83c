"""Readable JSON Schema errors: a JSON Pointer to the offending value and a short message.

Shared by parameter validation (``BaseConnector``) and the test kit's OpenAPI validator so
both report problems the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jsonschema import ValidationError as SchemaError
from jsonschema.protocols import Validator

MAX_ERRORS = 20
MAX_MESSAGE = 300


def pointer(parts: Iterable[Any]) -> str:
    """RFC 6901 pointer of a path (``/`` for the root)."""
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def error_pointer(error: SchemaError) -> str:
    """Where the problem is; for a missing or unexpected property, the property itself.

    jsonschema reports both at the parent object, which leaves a user guessing which field
    the message is about when several are wrong.
    """
    parts: list[Any] = list(error.absolute_path)
    instance, schema = error.instance, error.schema
    if error.validator == "required" and isinstance(instance, dict):
        missing = [
            name
            for name in error.validator_value
            if name not in instance and error.message == f"{name!r} is a required property"
        ]
        if missing:
            parts.append(missing[0])
    elif (
        error.validator == "additionalProperties"
        and isinstance(instance, dict)
        and isinstance(schema, dict)
        and not schema.get("patternProperties")
    ):
        extra = [key for key in instance if key not in schema.get("properties", {})]
        if len(extra) == 1:
            parts.append(extra[0])
    return pointer(parts)


def describe_errors(validator: Validator, instance: Any) -> list[dict[str, str]]:
    """Every violation, ordered by location: ``[{"path", "message", "validator"}]``."""
    errors = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
    return [
        {
            "path": error_pointer(e),
            "message": e.message[:MAX_MESSAGE],
            "validator": str(e.validator),
        }
        for e in errors[:MAX_ERRORS]
    ]
