"""Where connector code runs: built-ins on the event loop, plugins isolated on their own threads."""

from hub_connectors.runtime.executor import ConnectorRuntime
from hub_connectors.runtime.isolation import ConnectorBusy, ConnectorTimedOut, ThreadIsolation
from hub_connectors.runtime.provider_client import GatewayOnlyTransport, ProviderClientFactory

__all__ = [
    "ConnectorBusy",
    "ConnectorRuntime",
    "ConnectorTimedOut",
    "GatewayOnlyTransport",
    "ProviderClientFactory",
    "ThreadIsolation",
]
