"""The Linear simulator's workspace objects and the GraphQL plumbing its resolvers share:
entities, Linear-style errors, relay connections (``first``/``after``/``pageInfo``), Linear's
filter objects, ordering and a complexity estimate. See ``simulators/linear.py``."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from graphql import (
    GraphQLError,
)
from graphql.language import FieldNode, OperationDefinitionNode

SCHEMA_FILE = "linear-schema.graphql"
WINDOW_S = 3600
REQUESTS_LIMIT = 1500  # Linear: 1,500 requests per hour per user (OAuth app / API key)
COMPLEXITY_LIMIT = 250_000
MAX_FIRST = 250
ALL_SCOPES = ("read", "write", "admin", "issues:create", "comments:create")
STATES = (  # name, type, colour: the workflow Linear gives a new team
    ("Backlog", "backlog", "#bec2c8"),
    ("Todo", "unstarted", "#e2e2e2"),
    ("In Progress", "started", "#f2c94c"),
    ("Done", "completed", "#5e6ad2"),
    ("Canceled", "canceled", "#95a2b3"),
)
PRIORITY_LABELS = ("No priority", "Urgent", "High", "Medium", "Low")


def sim_uuid(*parts: str) -> str:
    """A stable UUID for a simulated entity (tests can compute the seeded ids)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "linear-sim:" + ":".join(parts)))


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def linear_error(
    message: str, code: str, *, kind: str = "invalid input", user: str | None = None
) -> GraphQLError:
    extensions = {"type": kind, "code": code, "userPresentableMessage": user or message}
    return GraphQLError(message, extensions=extensions)


def not_found(entity: str) -> GraphQLError:
    return linear_error(
        f"Entity not found: {entity}", "INVALID_INPUT", user=f"Could not find referenced {entity}."
    )


# -- state ---------------------------------------------------------------------------------------------
@dataclass
class User:
    id: str
    login: str
    name: str
    email: str


@dataclass
class Team:
    id: str
    key: str
    name: str
    states: list[dict[str, Any]]
    next_number: int = 1


@dataclass
class Comment:
    id: str
    issue_id: str
    user_id: str
    body: str
    parent_id: str | None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)


@dataclass
class Issue:
    id: str
    team_id: str
    number: int
    title: str
    description: str | None
    priority: int
    state_id: str
    creator_id: str
    assignee_id: str | None = None
    label_ids: list[str] = field(default_factory=list)
    project_id: str | None = None
    parent_id: str | None = None
    due_date: str | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    completed_at: str | None = None
    canceled_at: str | None = None
    comments: list[Comment] = field(default_factory=list)


@dataclass
class Webhook:
    id: str
    url: str
    resource_types: list[str]
    secret: str
    label: str | None
    team_id: str | None
    all_public_teams: bool
    creator_id: str
    enabled: bool = True
    created_at: str = field(default_factory=now_iso)

    def wants(self, kind: str, team_id: str | None) -> bool:
        if not self.enabled or kind not in self.resource_types:
            return False
        return self.all_public_teams or team_id is None or team_id == self.team_id


@dataclass
class Caller:
    user: User
    scopes: tuple[str, ...]
    credential: str  # which rate-limit window the call counts against


@dataclass
class Window:
    requests: int
    complexity: int
    used_requests: int = 0
    used_complexity: int = 0
    reset_ms: int = field(default_factory=lambda: int((time.time() + WINDOW_S) * 1000))

    def headers(self, cost: int) -> dict[str, str]:
        reset = str(self.reset_ms)
        return {
            "X-RateLimit-Requests-Limit": str(self.requests),
            "X-RateLimit-Requests-Remaining": str(max(self.requests - self.used_requests, 0)),
            "X-RateLimit-Requests-Reset": reset,
            "X-RateLimit-Complexity-Limit": str(self.complexity),
            "X-RateLimit-Complexity-Remaining": str(max(self.complexity - self.used_complexity, 0)),
            "X-RateLimit-Complexity-Reset": reset,
            "X-Complexity": str(cost),
        }


def connection(nodes: list[dict[str, Any]], args: Mapping[str, Any]) -> dict[str, Any]:
    """Relay-style ``first``/``after`` over an already filtered and ordered list."""
    after = args.get("after")
    start = _offset(str(after)) if after else 0
    first = int(args.get("first") or 50)
    if not 0 < first <= MAX_FIRST:
        raise linear_error(f"first must be between 1 and {MAX_FIRST}", "INVALID_INPUT")
    chunk = nodes[start : start + first]
    end = start + len(chunk)
    info = {
        "hasNextPage": end < len(nodes),
        "hasPreviousPage": start > 0,
        "startCursor": _cursor(start) if chunk else None,
        "endCursor": _cursor(end - 1) if chunk else None,
    }
    return {
        "nodes": chunk,
        "edges": [{"node": n, "cursor": _cursor(start + i)} for i, n in enumerate(chunk)],
        "pageInfo": info,
    }


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"sim:{index}".encode()).decode()


def _offset(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith("sim:"):
            raise ValueError(text)
        return int(text[4:]) + 1
    except (ValueError, UnicodeDecodeError) as exc:
        raise linear_error("invalid cursor", "INVALID_INPUT") from exc


def ordered(views: list[dict[str, Any]], args: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``sort: [{updatedAt|createdAt: {order}}]`` or ``orderBy``; default newest created first."""
    for entry in reversed(args.get("sort") or []):
        for name, spec in entry.items():
            if name not in ("updatedAt", "createdAt"):
                raise linear_error(
                    f"the simulator sorts by updatedAt or createdAt, not {name}", "INVALID_INPUT"
                )
            views = sorted(
                views, key=lambda v, n=name: v[n], reverse=(spec or {}).get("order") == "Descending"
            )
        return views
    key = args.get("orderBy") or "createdAt"
    return sorted(views, key=lambda v: v[str(key)], reverse=True)


_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "neq": lambda a, b: a != b,
    "in": lambda a, b: a in b,
    "nin": lambda a, b: a not in b,
    "gt": lambda a, b: a is not None and a > b,
    "gte": lambda a, b: a is not None and a >= b,
    "lt": lambda a, b: a is not None and a < b,
    "lte": lambda a, b: a is not None and a <= b,
    "eqIgnoreCase": lambda a, b: isinstance(a, str) and a.lower() == str(b).lower(),
    "contains": lambda a, b: isinstance(a, str) and str(b) in a,
    "containsIgnoreCase": lambda a, b: isinstance(a, str) and str(b).lower() in a.lower(),
    "startsWith": lambda a, b: isinstance(a, str) and a.startswith(str(b)),
    "null": lambda a, b: (a is None) == bool(b),
}


def matches(view: Mapping[str, Any] | None, condition: Mapping[str, Any]) -> bool:
    """Linear's filter objects (``{team: {id: {eq: ...}}, updatedAt: {gt: ...}, and: [...]}``)."""
    for name, wanted in condition.items():
        if name == "and":
            ok = all(matches(view, c) for c in wanted)
        elif name == "or":
            ok = any(matches(view, c) for c in wanted)
        elif name in _COMPARATORS:
            ok = _COMPARATORS[name](view, wanted)
        elif isinstance(wanted, Mapping):
            value = view.get(name) if isinstance(view, Mapping) else None
            if value is None and name not in (view or {}):
                raise linear_error(f"the simulator does not filter on {name}", "INVALID_INPUT")
            ok = matches(value, wanted) if isinstance(value, Mapping) else _compare(value, wanted)
        else:
            raise linear_error(f"unsupported filter {name}", "INVALID_INPUT")
        if not ok:
            return False
    return True


def _compare(value: Any, comparators: Mapping[str, Any]) -> bool:
    for op, operand in comparators.items():
        check = _COMPARATORS.get(op)
        if check is None:
            raise linear_error(f"the simulator does not support the comparator {op}", "INVALID_INPUT")
        if not check(value, operand):
            return False
    return True


def complexity(document: Any, variables: Mapping[str, Any]) -> int:
    """An estimate of Linear's query complexity: one point per selected field, times the page size
    of the connection it sits in (Linear documents a similar scheme: objects x page sizes)."""
    first = variables.get("first")
    page = int(first) if isinstance(first, int) and first > 0 else 1
    fields = sum(1 for _ in _fields(document))
    return max(1, fields * page // 10 + 1)


def _fields(node: Any) -> Iterable[FieldNode]:
    for definition in getattr(node, "definitions", []) or []:
        yield from _fields(definition)
    selection_set = getattr(node, "selection_set", None)
    for child in selection_set.selections if selection_set else []:
        if isinstance(child, FieldNode):
            yield child
        yield from _fields(child)


def operation_of(document: Any, wanted: Any) -> str | None:
    names = [d.name.value for d in document.definitions if isinstance(d, OperationDefinitionNode) and d.name]
    return str(wanted) if isinstance(wanted, str) and wanted in names else (names[0] if names else None)
