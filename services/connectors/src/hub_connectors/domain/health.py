"""What a health check means for a connection's status."""

from __future__ import annotations

from hub_common.redaction import redact_text
from hub_connector_sdk import ConnectorHealth
from hub_connectors.domain.states import ConnectionStatus

MAX_ERROR_CHARS = 500
_ACCOUNT_ID_KEYS = ("id", "account_id", "user_id", "login", "email")
_ACCOUNT_NAME_KEYS = ("name", "display_name", "login", "email", "username")


def verdict(health: ConnectorHealth) -> ConnectionStatus:
    """Healthy → active; credentials refused → token_invalid; anything else → error."""
    if health.is_healthy:
        return ConnectionStatus.ACTIVE
    if health.credentials_invalid:
        return ConnectionStatus.TOKEN_INVALID
    return ConnectionStatus.ERROR


def error_text(health: ConnectorHealth) -> str | None:
    if health.is_healthy:
        return None
    return redact_text(health.message or "health check failed")[:MAX_ERROR_CHARS]


def account_of(health: ConnectorHealth) -> tuple[str | None, str | None]:
    info = health.account_info
    account_id = next((info[k] for k in _ACCOUNT_ID_KEYS if info.get(k)), None)
    account_name = next((info[k] for k in _ACCOUNT_NAME_KEYS if info.get(k)), None)
    return account_id, account_name
