"""The connector registry: built-ins plus plugins discovered from entry points, validated at load."""

from hub_connectors.registry.builtins import BUILTINS
from hub_connectors.registry.discovery import discover_plugins, load_registry
from hub_connectors.registry.registry import ConnectorRegistry, LoadProblem, RegisteredConnector

__all__ = [
    "BUILTINS",
    "ConnectorRegistry",
    "LoadProblem",
    "RegisteredConnector",
    "discover_plugins",
    "load_registry",
]
