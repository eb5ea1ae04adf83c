"""The Integration Manager's client-visible failures (status + machine-readable code)."""

from __future__ import annotations

from hub_common.errors import Conflict, NotFound, ServiceUnavailable, Unprocessable


class ConnectorNotFound(NotFound):
    code = "connector_not_found"


class ConnectionNotFound(NotFound):
    """Also what another tenant's connection looks like: its existence is never confirmed."""

    code = "connection_not_found"

    def __init__(self) -> None:
        super().__init__("no such connection")


class UnknownActionError(NotFound):
    code = "unknown_action"


class ConnectionNotActive(Conflict):
    code = "connection_not_active"


class NameTaken(Conflict):
    code = "name_taken"


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"


class IdempotencyKeyInUse(Conflict):
    """An earlier request with this key has no recorded result: it still runs, or its process
    died mid-call and whether the provider executed it is unknown. It is never run again."""

    code = "idempotency_key_in_use"


class InvalidConfig(Unprocessable):
    code = "invalid_config"


class InvalidParametersError(Unprocessable):
    code = "invalid_parameters"


class ConnectorUnavailable(ServiceUnavailable):
    """The connection's connector is not loaded any more (plugin uninstalled or broken)."""

    code = "connector_unavailable"


class AutomationNotFound(NotFound):
    """Also what another tenant's automation looks like."""

    code = "automation_not_found"

    def __init__(self) -> None:
        super().__init__("no such automation")


class InvalidAutomation(Unprocessable):
    code = "invalid_automation"
