"""Declarative per-route transforms (Enterprise): headers, JSON fields and path prefixes.

A tenant stores one spec per connector. The first route whose methods and path glob match the
call applies; its ``request`` part runs before the call, its ``response`` part on the answer.
Everything is data: no expressions, no regular expressions (so no ReDoS), and headers that carry
credentials or framing cannot be touched. JSON body rules apply to JSON bodies up to a size limit
(``HUB_GATEWAY_TRANSFORM_MAX_BODY_BYTES``); larger or non-JSON bodies pass unchanged.

Field paths are dotted (``user.login``); a list on the way applies the rest of the path to each
element (``items.id`` renames ``id`` in every element of ``items``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub_gateway.domain.paths import rewrite_prefix

MAX_ROUTES = 50
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$")
# RFC 9110 §5.5 field-value: visible characters, spaces and tabs, and obs-text (0x80-0xFF).
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\xa0-\xff]*")
_FIELD_PATH = re.compile(r"^[A-Za-z0-9_\-$@]{1,128}(\.[A-Za-z0-9_\-$@]{1,128}){0,15}$")
# Transforms may not forge or strip credentials or framing.
PROTECTED_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "upgrade",
        "te",
        "trailer",
        "keep-alive",
        "x-api-key",
        "private-token",
    }
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _header_names(names: Iterable[str]) -> list[str]:
    out = []
    for name in names:
        if not _HEADER_NAME.match(name):
            raise ValueError(f"{name[:40]!r} is not a valid header name")
        if name.lower() in PROTECTED_HEADERS or name.lower().startswith("x-hub-"):
            raise ValueError(f"header {name!r} is protected and cannot be changed by a transform")
        out.append(name.lower())
    return out


def _field_paths(paths: Iterable[str]) -> list[str]:
    for path in paths:
        if not _FIELD_PATH.match(path):
            raise ValueError(f"{path[:40]!r} is not a dotted field path")
    return list(paths)


class PathRewrite(_Strict):
    from_prefix: str = Field(min_length=1, max_length=512)
    to_prefix: str = Field(min_length=1, max_length=512)

    @field_validator("from_prefix", "to_prefix")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/") or value.startswith("//") or ".." in value or "\\" in value:
            raise ValueError("prefixes start with a single '/' and have no '..' or backslash")
        return value


class MessageTransform(_Strict):
    set_headers: dict[str, str] = Field(default_factory=dict, max_length=50)
    remove_headers: list[str] = Field(default_factory=list, max_length=50)
    rename_fields: dict[str, str] = Field(default_factory=dict, max_length=100)
    drop_fields: list[str] = Field(default_factory=list, max_length=100)

    @field_validator("set_headers")
    @classmethod
    def _set(cls, value: dict[str, str]) -> dict[str, str]:
        names = _header_names(value)
        for v in value.values():
            if len(v) > 4096 or not _HEADER_VALUE.fullmatch(v):
                raise ValueError(
                    "header values are single lines of at most 4096 characters, "
                    "printable ISO-8859-1 (what HTTP/1.1 can carry)"
                )
        return dict(zip(names, value.values(), strict=True))

    @field_validator("remove_headers")
    @classmethod
    def _remove(cls, value: list[str]) -> list[str]:
        return _header_names(value)

    @field_validator("rename_fields")
    @classmethod
    def _rename(cls, value: dict[str, str]) -> dict[str, str]:
        _field_paths(value)
        for target in value.values():
            if not re.match(r"^[A-Za-z0-9_\-$@]{1,128}$", target):
                raise ValueError("a field is renamed to a plain name (no dots)")
        return value

    @field_validator("drop_fields")
    @classmethod
    def _drop(cls, value: list[str]) -> list[str]:
        return _field_paths(value)

    @property
    def touches_body(self) -> bool:
        return bool(self.rename_fields or self.drop_fields)


class RouteMatch(_Strict):
    methods: list[str] = Field(default_factory=list, description="empty: every method")
    path: str = Field(default="/*", max_length=512, description="glob on the provider path")

    @field_validator("methods")
    @classmethod
    def _methods(cls, value: list[str]) -> list[str]:
        upper = [m.upper() for m in value]
        unknown = sorted(set(upper) - METHODS)
        if unknown:
            raise ValueError(f"unknown methods: {', '.join(unknown)}")
        return upper

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("path globs start with '/'")
        return value


class RouteTransform(_Strict):
    match: RouteMatch = Field(default_factory=RouteMatch)
    rewrite_path: PathRewrite | None = None
    request: MessageTransform = Field(default_factory=MessageTransform)
    response: MessageTransform = Field(default_factory=MessageTransform)

    def matches(self, method: str, provider_path: str) -> bool:
        if self.match.methods and method not in self.match.methods:
            return False
        return fnmatch.fnmatchcase(provider_path, self.match.path)


class TransformSpec(_Strict):
    routes: list[RouteTransform] = Field(min_length=1, max_length=MAX_ROUTES)

    @field_validator("routes")
    @classmethod
    def _each_does_something(cls, routes: list[RouteTransform]) -> list[RouteTransform]:
        for i, r in enumerate(routes):
            if not (r.rewrite_path or r.request != MessageTransform() or r.response != MessageTransform()):
                raise ValueError(f"route {i} changes nothing")
        return routes

    def route_for(self, method: str, provider_path: str) -> RouteTransform | None:
        return next((r for r in self.routes if r.matches(method, provider_path)), None)


def apply_path(route: RouteTransform, provider_path: str) -> str:
    if route.rewrite_path is None:
        return provider_path
    return rewrite_prefix(provider_path, route.rewrite_path.from_prefix, route.rewrite_path.to_prefix)


def apply_headers(transform: MessageTransform, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    if not (transform.set_headers or transform.remove_headers):
        return headers
    drop = set(transform.remove_headers) | set(transform.set_headers)
    kept = [(n, v) for n, v in headers if n.lower() not in drop]
    kept.extend(transform.set_headers.items())
    return kept


# Nodes one document may cost all its rules together: a 1 MiB body of 250,000 tiny list items
# times 200 rules would otherwise hold the event loop for seconds.
MAX_VISITS = 200_000


class TransformTooExpensive(Exception):
    """The body would cost more than MAX_VISITS: the caller passes it on unchanged, as it does a
    body over the size limit."""


def _walk(root: Any, parts: list[str], action: Any, budget: list[int]) -> None:
    # An explicit stack: nesting depth costs no recursion (a 2 KB body can nest 1,000 lists).
    last = len(parts) - 1
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        budget[0] -= 1
        if budget[0] < 0:
            raise TransformTooExpensive
        if isinstance(node, list):
            stack.extend((item, depth) for item in reversed(node))
        elif isinstance(node, dict):
            if depth == last:
                action(node, parts[depth])
            elif (child := node.get(parts[depth])) is not None:
                stack.append((child, depth + 1))


def apply_body(transform: MessageTransform, document: Any) -> Any:
    """Rename and drop fields in a parsed JSON document (in place; returns it). Raises
    :class:`TransformTooExpensive` (the document half-changed: the caller keeps the original)."""
    budget = [MAX_VISITS]
    for path, new_name in transform.rename_fields.items():

        def rename(obj: dict[str, Any], key: str, new: str = new_name) -> None:
            if key in obj:
                obj[new] = obj.pop(key)

        _walk(document, path.split("."), rename, budget)
    for path in transform.drop_fields:
        _walk(document, path.split("."), lambda obj, key: obj.pop(key, None), budget)
    return document
