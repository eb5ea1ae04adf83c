"""One unit of work (docs/adr/0027): a repository takes the connection it is handed and never
commits; a service opens the connection or transaction through ``hub_common.db.Database``. A
repository that also accepts the pool runs each statement on a connection of its own, so a use
case silently stops being one transaction: these tests keep that from coming back."""

from __future__ import annotations

import ast

import pytest

pytestmark = pytest.mark.unit

CONNECTION = "asyncpg.Connection"
# The layers that reach Postgres through the Database only (adapters may hold a pool: the
# vault's NOTIFY debouncer is one; the composition root makes the Database from the pool).
ABOVE_REPOSITORIES = ("api", "consumers", "services")


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    return [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]


def _names_a_pool(annotation: ast.expr | None) -> bool:
    if annotation is None:
        return False
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        annotation = ast.parse(annotation.value, mode="eval").body  # a quoted annotation
    return any(
        (isinstance(n, ast.Name) and n.id == "Pool") or (isinstance(n, ast.Attribute) and n.attr == "Pool")
        for n in ast.walk(annotation)
    )


def test_no_repository_function_takes_a_pool(service_modules) -> None:
    found = [
        f"{m.where(fn)} {fn.name}({p.arg}: {ast.unparse(p.annotation)})"
        for m in service_modules
        if m.layer == "repositories"
        for fn in _functions(m.tree)
        for p in _params(fn)
        if p.annotation is not None and _names_a_pool(p.annotation)
    ]
    assert found == [], "a repository takes the caller's connection, never the pool"


def test_every_repository_function_takes_a_connection_first(service_modules) -> None:
    found = []
    for m in service_modules:
        if m.layer != "repositories":
            continue
        for fn in m.tree.body:
            if isinstance(fn, ast.AsyncFunctionDef) and not fn.name.startswith("_"):
                params = _params(fn)
                first = ast.unparse(params[0].annotation) if params and params[0].annotation else None
                if first != CONNECTION:
                    found.append(f"{m.where(fn)} {fn.name}: first parameter is {first}")
    assert found == [], f"every repository function's first parameter is a {CONNECTION}"


def test_services_reach_postgres_only_through_the_unit_of_work(service_modules) -> None:
    """No pool handed in, none reached under the Database (``db.pool.acquire()``)."""
    found = []
    for m in service_modules:
        if m.layer not in ABOVE_REPOSITORIES:
            continue
        for fn in _functions(m.tree):
            found += [f"{m.where(fn)} {fn.name}({p.arg})" for p in _params(fn) if _names_a_pool(p.annotation)]
        found += [
            f"{m.where(node)} {ast.unparse(node)}"
            for node in ast.walk(m.tree)
            if isinstance(node, ast.Attribute) and node.attr in ("pool", "_pool")
        ]
    assert found == [], "open db.connection() or db.transaction() (hub_common.db.Database) instead"


def test_the_checks_see_every_services_repositories(service_modules) -> None:
    """The tests above pass vacuously if the modules are not found."""
    with_repositories = {m.service for m in service_modules if m.layer == "repositories" and m.tree.body}
    assert with_repositories == {"connectors", "gateway", "oauth", "vault", "webhooks"}
