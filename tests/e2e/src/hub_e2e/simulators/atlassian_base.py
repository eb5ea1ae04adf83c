"""What the Atlassian simulator's Jira and Confluence parts share: the caller, one call, the
error answers (Jira's ``{"errorMessages", "errors"}``, Confluence v2's ``{"errors": [...]}``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from hub_e2e.simulators.atlassian import AtlassianSimulator

CONFLUENCE_CODES = {
    400: "INVALID_REQUEST_PARAMETER",
    404: "NOT_FOUND",
    409: "CONFLICT",
    429: "TOO_MANY_REQUESTS",
}


class JiraError(Exception):
    def __init__(self, status: int, *messages: str, errors: Mapping[str, str] | None = None) -> None:
        super().__init__("; ".join(messages))
        self.status, self.messages, self.errors = status, list(messages), dict(errors or {})

    def response(self, product: str = "jira") -> JSONResponse:
        if self.status == 401:
            return JSONResponse({"code": 401, "message": "Unauthorized"}, status_code=401)
        if product == "confluence":  # REST v2: {"errors": [{"status", "code", "title", "detail"}]}
            items = [
                {
                    "status": self.status,
                    "code": CONFLUENCE_CODES.get(self.status, "BAD_REQUEST"),
                    "title": m,
                    "detail": None,
                }
                for m in self.messages or [f"{k}: {v}" for k, v in self.errors.items()]
            ]
            return JSONResponse({"errors": items}, status_code=self.status)
        return JSONResponse({"errorMessages": self.messages, "errors": self.errors}, status_code=self.status)


def now_jira(moment: datetime | None = None) -> str:
    """Jira's time format: ``2024-05-01T12:00:00.000+0000``."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.") + "000+0000"


@dataclass
class Caller:
    account_id: str
    name: str
    email: str
    client_id: str | None  # the OAuth app (None: basic auth)
    credential: str
    cloud_ids: tuple[str, ...]


@dataclass
class Call:
    request: Request
    caller: Caller
    body: Any
    site: str  # API base of the answer's self links


Handler = Callable[["AtlassianSimulator", Call], Awaitable[tuple[int, Any]]]


def person(caller: Caller, site: str) -> dict[str, Any]:
    return {
        "self": f"{site}/rest/api/3/user?accountId={caller.account_id}",
        "accountId": caller.account_id,
        "displayName": caller.name,
        "active": True,
        "accountType": "atlassian",
    }
