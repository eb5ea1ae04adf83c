"""What another hub service's refusal means here: its error code and message, kept, with a status
that tells the user what to do (a neighbour's outage stays a 503)."""

from __future__ import annotations

from hub_common.clients.service import ServiceResponse
from hub_common.errors import HubError


def refusal(resp: ServiceResponse, service: str, default_code: str) -> HubError:
    try:
        answer = resp.json() if resp.content else {}
    except ValueError:
        answer = {}
    error = (answer.get("error") if isinstance(answer, dict) else None) or {}
    status = resp.status_code if 400 <= resp.status_code < 600 else 502
    return HubError(
        str(error.get("message") or f"the {service} service answered {resp.status_code}"),
        code=str(error.get("code") or default_code),
        status_code=status,
        details=error.get("details") if isinstance(error.get("details"), dict) else None,
    )
