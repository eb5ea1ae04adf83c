"""Where connector code runs: built-ins on the event loop, plugins in worker processes."""

from hub_connectors.runtime.executor import ConnectorRuntime
from hub_connectors.runtime.isolation import ConnectorBusy, ConnectorTimedOut
from hub_connectors.runtime.plugin_tokens import PluginTokens
from hub_connectors.runtime.process_isolation import ProcessIsolation
from hub_connectors.runtime.provider_client import GatewayOnlyTransport, ProviderClientFactory

__all__ = [
    "ConnectorBusy",
    "ConnectorRuntime",
    "ConnectorTimedOut",
    "GatewayOnlyTransport",
    "PluginTokens",
    "ProcessIsolation",
    "ProviderClientFactory",
]
