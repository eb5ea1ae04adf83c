"""A registration's filter on a trigger's normalised payload.

``{"dotted.path": expected}``: every key must match (AND); ``expected`` may be a list, which
matches when the value is any of its items. A path that does not exist never matches. Pure, so
the same filter gives the same answer on a replay.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_MISSING = object()


class InvalidFilter(ValueError):
    """The filter is not a mapping of dotted paths to values."""


def validate(spec: Any) -> dict[str, Any] | None:
    if spec is None:
        return None
    if not isinstance(spec, Mapping) or not all(isinstance(k, str) and k for k in spec):
        raise InvalidFilter("a filter is an object of {dotted.path: value | [values]}")
    return dict(spec)


def _lookup(payload: Any, path: str) -> Any:
    node = payload
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def matches(spec: Mapping[str, Any] | None, payload: Mapping[str, Any]) -> bool:
    if not spec:
        return True
    for path, expected in spec.items():
        value = _lookup(payload, path)
        if value is _MISSING:
            return False
        options = expected if isinstance(expected, list) else [expected]
        if value not in options:
            return False
    return True
