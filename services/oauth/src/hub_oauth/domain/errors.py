"""Errors of the authorization flows, shared by the flow and token-store services."""

from __future__ import annotations

from hub_common.errors import HubError


class FlowError(HubError):
    status_code = 400
    code = "oauth_flow_error"


class FlowRevoked(FlowError):
    """The connection was revoked (or disconnected) while this authorization was open."""

    status_code = 409
    code = "flow_revoked"

    def __init__(self) -> None:
        super().__init__("the connection was revoked while this authorization was open; start a new one")
