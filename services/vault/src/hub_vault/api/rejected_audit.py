"""Audit rows for calls refused before any use case ran: a bad or missing service token (401),
a request that does not validate (422 ``validation_error``) and a body that does not parse
(400 ``bad_request``, e.g. not UTF-8).

Everything past those checks audits itself, in the same statement or transaction as the
operation. These two answers are produced earlier (the auth dependency, the fast path's token
check, FastAPI's request validation), so without this wrapper an attacker probing the vault with
stolen or forged tokens would leave no trace in ``vault.audit``. The row names what is known —
the operation the route stands for, the ids in the path when they are well-formed, the caller
when its token verifies — and never the token or the body. As everywhere in the vault, if the
row cannot be written the caller gets 503 ``audit_unavailable`` instead of the refusal.

Anyone who reaches the port can cause these rows, so they may hold only a few of the pool's
connections at once (``REFUSAL_AUDIT_SLOTS``): a flood of forged tokens waits for a slot, then
gets 503, while authenticated calls keep the rest of the pool.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

import asyncpg
import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub_common import jsonutil
from hub_common.db import Database
from hub_common.errors import HubError
from hub_common.web.errors import error_body
from hub_vault.domain.errors import AuditUnavailable
from hub_vault.domain.names import is_credential_key, is_tenant_id
from hub_vault.domain.operations import Operation, Outcome
from hub_vault.services import audit_trail
from hub_vault.services.call_context import CallContext

log = logging.getLogger(__name__)

UNAUTHENTICATED_CALLER = "unauthenticated"
_OWNER = r"/v1/tenants/(?P<tenant>[^/]+)/connections/(?P<connection>[^/]+)"
_KEY = r"/credentials/(?P<key>[^/]+)"
_ROUTES: list[tuple[str, re.Pattern[str], Operation]] = [
    (method, re.compile(path), operation)
    for method, path, operation in (
        ("POST", _OWNER + _KEY + "/generate", Operation.SECRET_GENERATE),
        ("GET", _OWNER + _KEY, Operation.CREDENTIAL_READ),
        ("PUT", _OWNER + _KEY, Operation.CREDENTIAL_STORE),
        ("DELETE", _OWNER + _KEY, Operation.CREDENTIAL_DELETE),
        ("PUT", _OWNER + "/credentials", Operation.CREDENTIAL_STORE),
        ("GET", _OWNER + "/credentials", Operation.CREDENTIAL_LIST),
        ("DELETE", _OWNER + "/credentials", Operation.CREDENTIAL_DELETE_ALL),
        ("POST", _OWNER + "/hmac/sign", Operation.HMAC_SIGN),
        ("POST", _OWNER + "/hmac/verify", Operation.HMAC_VERIFY),
        ("GET", "/v1/admin/key-versions", Operation.KEYS_LIST),
        ("POST", "/v1/admin/key-versions", Operation.KEYS_ROTATE),
        ("POST", "/v1/admin/key-versions/[^/]+/retire", Operation.KEYS_RETIRE),
        ("POST", "/v1/admin/rewrap-jobs", Operation.REWRAP_START),
        ("GET", "/v1/admin/rewrap-jobs(?:/[^/]+)?", Operation.REWRAP_READ),
    )
]
REFUSAL_AUDIT_SLOTS = 2  # of the pool's connections (10 by default)
REFUSAL_SLOT_WAIT_S = 1.0
_FLOOD_WARNING_EVERY_S = 10.0
_MAX_ERROR_BODY = 64 * 1024  # our own error bodies are far smaller; anything else passes as is


@dataclass(frozen=True, slots=True)
class _Route:
    operation: Operation
    tenant_id: str | None
    connection_id: UUID | None
    credential_key: str | None


def _route(method: str, path: str) -> _Route | None:
    for route_method, pattern, operation in _ROUTES:
        found = pattern.fullmatch(path) if route_method == method else None
        if found is None:
            continue
        groups = found.groupdict()
        tenant, connection, key = groups.get("tenant"), groups.get("connection"), groups.get("key")
        return _Route(
            operation,
            tenant if tenant is not None and is_tenant_id(tenant) else None,
            _uuid(connection),
            key if key is not None and is_credential_key(key) else None,
        )
    return None


def _uuid(text: str | None) -> UUID | None:
    """Every spelling the routes accept (braces, ``urn:uuid:``, 32 hex digits), so a search of
    the audit by connection finds the refused probe whichever way it wrote the id."""
    if text is None or len(text) > 45 or not text.isascii():  # UUID() reads other digits too
        return None
    try:
        return UUID(text)
    except ValueError:
        return None


def _outcome(status: int, code: str | None) -> Outcome | None:
    """What a held answer records; other refusals are audited by the use case that refused."""
    if status == 401:
        return Outcome.UNAUTHENTICATED
    if status == 422 and code == "validation_error":
        return Outcome.INVALID
    if status == 400 and code == "bad_request":  # a body that does not even parse (not UTF-8)
        return Outcome.INVALID
    if status == 413 and code == "payload_too_large":  # refused before anything read the body
        return Outcome.INVALID
    return None


def _error_code(body: bytes) -> str | None:
    try:
        code = orjson.loads(body)["error"]["code"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return code if isinstance(code, str) else None


class RejectedCallAudit:
    def __init__(
        self,
        app: ASGIApp,
        database: Callable[[], Database],
        caller_of: Callable[[str | None], str],
    ) -> None:
        self.app = app
        self.database = database
        self.caller_of = caller_of  # verifies a service token; raises when it does not verify
        self._slots = asyncio.Semaphore(REFUSAL_AUDIT_SLOTS)
        self._warned_at = -_FLOOD_WARNING_EVERY_S

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        held: list[Message] = []
        size = 0
        replaced = False  # the answer became a 503: whatever else the app sends is dropped

        async def watch(message: Message) -> None:
            nonlocal size, replaced
            if replaced:
                return
            if message["type"] == "http.response.start" and message["status"] in (400, 401, 413, 422):
                held.append(message)
                return
            if not held:
                await send(message)
                return
            held.append(message)
            size += len(message.get("body", b""))
            if message.get("more_body", False) and size <= _MAX_ERROR_BODY:
                return
            replaced = not await self._release(scope, held, send)
            held.clear()

        await self.app(scope, receive, watch)
        if held and not replaced:  # an answer that ended without its last body message
            await self._release(scope, held, send)

    async def _release(self, scope: Scope, held: list[Message], send: Send) -> bool:
        """Audit the held answer and send it (True), or send 503 instead (False)."""
        # The route is worked out only here, for refusals: ~8 us a call saved on the hot paths.
        start = held[0]
        body = b"".join(m.get("body", b"") for m in held[1:])
        status = start["status"]
        code = _error_code(body)
        outcome = _outcome(status, code)
        route = _route(scope["method"], scope["path"]) if outcome is not None else None
        if outcome is not None and route is not None:
            try:
                await self._record(scope, route, start, outcome, status, code)
            except AuditUnavailable as exc:
                await _send_error(send, exc, start)
                return False
        for message in held:
            await send(message)
        return True

    async def _record(
        self,
        scope: Scope,
        route: _Route,
        start: Message,
        outcome: Outcome,
        status: int,
        code: str | None,
    ) -> None:
        # The first Authorization, as the routes (Starlette) read it: the row names who was refused.
        authorization = next((v for n, v in scope["headers"] if n == b"authorization"), None)
        try:
            caller = self.caller_of(authorization.decode("latin-1") if authorization else None)
        except HubError:
            caller = UNAUTHENTICATED_CALLER
        request_id = dict(start.get("headers", [])).get(b"x-request-id")
        ctx = CallContext(caller, request_id.decode("latin-1") if request_id else None)
        try:
            database = self.database()
        except RuntimeError as exc:  # not started (yet, or any more)
            audit_trail.log_failure(route.operation.value, exc)
            raise AuditUnavailable from None
        try:
            await asyncio.wait_for(self._slots.acquire(), REFUSAL_SLOT_WAIT_S)
        except TimeoutError:
            self._warn_flood(route.operation)
            raise AuditUnavailable from None
        try:
            async with database.transaction() as conn:
                await audit_trail.record(
                    conn,
                    ctx,
                    route.operation,
                    outcome,
                    tenant_id=route.tenant_id,
                    connection_id=route.connection_id,
                    credential_key=route.credential_key,
                    details={"status": status, "code": code},
                )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:  # the pool failed
            audit_trail.log_failure(route.operation.value, exc)
            raise AuditUnavailable from None
        finally:
            self._slots.release()

    def _warn_flood(self, operation: Operation) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _FLOOD_WARNING_EVERY_S:  # one line per burst, not per call
            self._warned_at = now
            log.warning(
                "refused calls arrive faster than they can be audited; answering 503 audit_unavailable",
                extra={"operation": operation.value, "slots": REFUSAL_AUDIT_SLOTS},
            )


async def _send_error(send: Send, exc: HubError, start: Message) -> None:
    raw_id = dict(start.get("headers", [])).get(b"x-request-id")
    request_id = raw_id.decode("latin-1") if raw_id else None
    payload = jsonutil.dumps(error_body(exc.code, exc.message, exc.details, request_id))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if raw_id:
        headers.append((b"x-request-id", raw_id))
    await send({"type": "http.response.start", "status": exc.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
