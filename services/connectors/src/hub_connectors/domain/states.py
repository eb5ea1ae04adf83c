"""Connection lifecycle (``ConnectionStatus``; docs/architecture.md §4) and its allowed transitions.

    initializing ──► active ◄──► token_expired
         │             │  ▲            │
         ▼             ▼  │            ▼
       error ◄──────► token_invalid   (any non-terminal) ──► disconnected (terminal)

A transition to the current state is a no-op, never an error. Everything not in the table is
refused, which is what makes late or duplicated events harmless (an ``integration.connected``
for a disconnected connection changes nothing).
"""

from __future__ import annotations

from enum import StrEnum

from hub_common.errors import Conflict


class ConnectionStatus(StrEnum):
    INITIALIZING = "initializing"  # OAuth flow (or first health check) in progress
    ACTIVE = "active"  # connected and operational
    TOKEN_EXPIRED = "token_expired"  # needs a refresh (the oauth service's job)
    TOKEN_INVALID = "token_invalid"  # the provider refused the credentials: the user must reconnect
    DISCONNECTED = "disconnected"  # user-initiated; terminal
    ERROR = "error"  # transient failure (provider or gateway unreachable)


S = ConnectionStatus

ALLOWED_TRANSITIONS: dict[ConnectionStatus, frozenset[ConnectionStatus]] = {
    S.INITIALIZING: frozenset({S.ACTIVE, S.TOKEN_INVALID, S.ERROR, S.DISCONNECTED}),
    S.ACTIVE: frozenset({S.TOKEN_EXPIRED, S.TOKEN_INVALID, S.ERROR, S.DISCONNECTED}),
    S.TOKEN_EXPIRED: frozenset({S.ACTIVE, S.TOKEN_INVALID, S.ERROR, S.DISCONNECTED}),
    # Only a successful re-authentication or check brings a refused credential back.
    S.TOKEN_INVALID: frozenset({S.ACTIVE, S.DISCONNECTED}),
    S.ERROR: frozenset({S.ACTIVE, S.TOKEN_EXPIRED, S.TOKEN_INVALID, S.DISCONNECTED}),
    S.DISCONNECTED: frozenset(),
}

# Statuses that occupy a license slot and keep the name taken.
OCCUPYING = frozenset(s for s in ConnectionStatus if s is not S.DISCONNECTED)
# Statuses the periodic health check revisits (token_invalid waits for the user).
PERIODICALLY_CHECKED = frozenset({S.ACTIVE, S.ERROR})
# Statuses an on-demand health check may run in (there are credentials to check).
CHECKABLE = frozenset({S.ACTIVE, S.ERROR, S.TOKEN_EXPIRED, S.TOKEN_INVALID})


class InvalidTransition(Conflict):
    code = "invalid_transition"


def can_transition(current: ConnectionStatus, target: ConnectionStatus) -> bool:
    return current == target or target in ALLOWED_TRANSITIONS[current]


def transition(current: ConnectionStatus, target: ConnectionStatus) -> ConnectionStatus:
    """The new status, or InvalidTransition (409) naming both ends."""
    if not can_transition(current, target):
        raise InvalidTransition(
            f"a connection cannot go from {current} to {target}",
            details={"status": str(current), "requested": str(target)},
        )
    return target


def enters_active(current: ConnectionStatus, target: ConnectionStatus) -> bool:
    """True when this change makes the connection usable (``integration.connected`` is due)."""
    return target is S.ACTIVE and current is not S.ACTIVE and can_transition(current, target)
