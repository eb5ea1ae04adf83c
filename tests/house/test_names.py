"""Names that mean one thing (docs/adr/0028): a name is not kept alive as an alias of another,
a module is not a re-export of someone else's, and the names that meant different things in
different services (``Services``, ``Caller``, ``context.py``) mean one thing each."""

from __future__ import annotations

import ast

import pytest

pytestmark = pytest.mark.unit

# ``Caller`` is a user of a tenant, in the two services that act for one; the gateway's verified
# caller (a user, a hub service or a plugin) is ``GatewayCaller``, the vault's ``CallContext``.
CALLER_MEANS_A_TENANTS_USER = {"connectors", "webhooks"}


def _bound_at_top(tree: ast.Module) -> dict[str, ast.stmt]:
    """Names a module binds at its top level by a class, a function or an assignment."""
    bound: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            bound[node.name] = node
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name):
                    bound[target.id] = node
    return bound


def _aliases(tree: ast.Module) -> set[str]:
    """``New = Old`` at the top of a module, where ``Old`` is a class it defines or a name it imports."""
    defined = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    imported = {
        alias.asname or alias.name for n in tree.body if isinstance(n, ast.ImportFrom) for alias in n.names
    }
    return {
        node.targets[0].id
        for node in tree.body
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Name)
        and node.value.id in defined | imported
        and node.targets[0].id != node.value.id
    }


def test_no_name_is_imported_through_an_alias(service_modules, hub_modules) -> None:
    """A second name kept for importers (``Caller = GatewayCaller``, ``FANOUT_TOPICS =
    SUBSCRIBABLE_EVENT_TYPES``) makes two names for one thing; importers use its own name. (A
    module's private shorthand, ``S = ConnectionStatus`` for a transition table, is nobody's
    import and not an alias here.)"""
    aliases = {m.name: _aliases(m.tree) for m in service_modules}
    found = [
        f"{m.where(node)} imports {alias.name} from {node.module}"
        for m in hub_modules
        for node in ast.walk(m.tree)
        if isinstance(node, ast.ImportFrom) and node.module in aliases
        for alias in node.names
        if alias.name in aliases[node.module]
    ]
    assert found == []


def test_no_service_module_only_re_exports_another(service_modules) -> None:
    """A module whose whole body is an import (and ``__all__``) is a second address for someone
    else's code; a service imports from the owner. (Libraries may keep such a module as a public
    import path for their users: the SDK's ``testkit.redaction``.)"""
    found = []
    for m in service_modules:
        if m.path.name == "__init__.py":
            continue
        body = [n for n in m.tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        if body and all(
            isinstance(n, ast.Import | ast.ImportFrom)
            or (isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "__all__")
            for n in body
        ):
            found.append(m.file)
    assert found == []


def _annotated_container(node: ast.stmt) -> bool:
    """``X = Annotated[Container, Depends(...)]`` (or ``Annotated["Container", ...]``)."""
    if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Subscript)):
        return False
    if ast.unparse(node.value.value) != "Annotated" or not isinstance(node.value.slice, ast.Tuple):
        return False
    first = node.value.slice.elts[0]
    return (isinstance(first, ast.Name) and first.id == "Container") or (
        isinstance(first, ast.Constant) and first.value == "Container"
    )


def test_the_container_dependency_has_one_name(service_modules) -> None:
    names = {
        (m.service, name)
        for m in service_modules
        if m.layer == "api"
        for name, node in _bound_at_top(m.tree).items()
        if _annotated_container(node)
    }
    assert names == {(s, "ContainerDep") for s in ("connectors", "gateway", "oauth", "vault", "webhooks")}


def test_services_and_caller_mean_one_thing(service_modules) -> None:
    services = [m.name for m in service_modules if "Services" in _bound_at_top(m.tree)]
    callers = {m.service for m in service_modules if "Caller" in _bound_at_top(m.tree)}
    assert services == [], "the composition root is the Container (ContainerDep in the routes)"
    assert callers == CALLER_MEANS_A_TENANTS_USER


def test_module_names_say_what_they_hold(service_modules) -> None:
    """``context.py`` held three different things; ``services/apps_service.py`` said "service"
    twice. What a module holds is its name: ``oauth_context.py``, ``call_context.py``, ``apps.py``."""
    found = [
        m.file
        for m in service_modules
        if m.path.name == "context.py" or (m.layer == "services" and m.path.stem.endswith("_service"))
    ]
    assert found == []
