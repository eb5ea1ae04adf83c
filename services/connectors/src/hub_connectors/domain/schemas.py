"""JSON Schema checks of user input (action parameters, connection config).

Error details name the place and the rule, never the offending value: a parameter may be
something its owner would not want echoed into logs or error trackers.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

MAX_ERRORS = 20


@lru_cache(maxsize=512)
def _validator(schema_json: bytes) -> Draft202012Validator:
    return Draft202012Validator(orjson.loads(schema_json))


def validator_for(schema: dict[str, Any]) -> Draft202012Validator:
    return _validator(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS))


def _describe(error: ValidationError) -> dict[str, str]:
    path = "/" + "/".join(str(p) for p in error.absolute_path)
    rule = str(error.validator)
    if rule == "required":
        missing = error.message.split("'")[1] if error.message.count("'") >= 2 else "?"
        message = f"missing required property {missing!r}"
    elif rule == "additionalProperties":
        message = error.message[:200]  # names the unexpected keys, not their values
    else:
        expected = orjson.dumps(error.validator_value).decode()[:120]
        message = f"does not satisfy {rule}: {expected}"
    return {"path": path, "rule": rule, "message": message}


def schema_errors(schema: dict[str, Any], instance: Any) -> list[dict[str, str]]:
    errors = sorted(validator_for(schema).iter_errors(instance), key=lambda e: list(map(str, e.path)))
    return [_describe(e) for e in errors[:MAX_ERRORS]]
