"""Plugin discovery through the ``integration_hub.connectors`` entry-point group.

An entry point names a ``BaseConnector`` subclass, e.g. in the plugin's pyproject.toml:

    [project.entry-points."integration_hub.connectors"]
    statuspage = "hub_statuspage:StatuspageConnector"

Importing a plugin runs its code; a failure at import (any exception, even SystemExit) is
recorded against the entry point and the rest load normally.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points

from hub_connector_sdk import ENTRY_POINT_GROUP, BaseConnector
from hub_connectors.registry.builtins import BUILTINS
from hub_connectors.registry.registry import ConnectorRegistry


def _distribution(ep: EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    return getattr(dist, "name", None) if dist is not None else None


def discover_plugins(registry: ConnectorRegistry, eps: Iterable[EntryPoint] | None = None) -> None:
    found = list(eps if eps is not None else entry_points(group=ENTRY_POINT_GROUP))
    candidates: list[tuple[object, str, str | None]] = []
    for ep in sorted(found, key=lambda e: e.name):
        distribution = _distribution(ep)
        try:
            loaded = ep.load()
        except (Exception, SystemExit) as exc:
            registry.report(
                f"plugin:{ep.name}",
                f"import failed ({ep.value}): {type(exc).__name__}: {exc}",
                distribution=distribution,
            )
            continue
        candidates.append((loaded, ep.name, distribution))
    registry.add_plugins(candidates)


def load_registry(
    hub_version: str,
    *,
    builtins: Iterable[type[BaseConnector]] = BUILTINS,
    plugins: bool = True,
    operator_allowlist: Iterable[str] = (),
) -> ConnectorRegistry:
    registry = ConnectorRegistry(hub_version, operator_allowlist=operator_allowlist)
    for connector_class in builtins:
        registry.add_builtin(connector_class)
    if plugins:
        discover_plugins(registry)
    return registry
