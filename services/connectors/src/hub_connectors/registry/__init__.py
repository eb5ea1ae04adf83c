"""The connector registry: built-ins plus plugins discovered from entry points, validated at load."""

from hub_connectors.registry.builtins import BUILTINS
from hub_connectors.registry.discovery import discover_plugins, load_registry
from hub_connectors.registry.registry import (
    ConnectorRegistry,
    DescribedPlugin,
    LoadProblem,
    PluginRef,
    RegisteredConnector,
)

__all__ = [
    "BUILTINS",
    "ConnectorRegistry",
    "DescribedPlugin",
    "LoadProblem",
    "PluginRef",
    "RegisteredConnector",
    "discover_plugins",
    "load_registry",
]
