"""Browser sessions of the Integration Manager UI and end users' connect sessions
(docs/adr/0029).

- A hub user signs in once with the same bearer JWT the API takes; it is verified and exchanged
  for a random session id (256 bits) in an ``HttpOnly`` cookie. The JWT is not kept. The session
  lasts ``connectors_ui_session_ttl_s``, never beyond the JWT's own expiry.
- Each session has a CSRF token (256 bits) that every state-changing form sends back; it is
  compared in constant time.
- ``POST /v1/connect/sessions`` gives a product a one-time token (30 min by default) for its end
  user. Opening the connect URL consumes the token and starts a *connect* session: the connect
  pages only, only the allowed connectors, and every connection it makes is tagged with the end
  user. It acts for the user who created it (same tenant, same tier).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from hub_common.db import Database
from hub_common.errors import BadRequest
from hub_common.web.auth import Principal, Tier
from hub_connectors.registry import ConnectorRegistry
from hub_connectors.repositories import ui_sessions as repo
from hub_connectors.services.caller import Caller


def _hash(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


@dataclass(frozen=True)
class UiSession:
    tenant_id: str
    user_id: str
    tier: Tier
    csrf_token: str
    expires_at: datetime
    end_user_id: str | None = None
    allowed_connectors: tuple[str, ...] = ()
    return_to: str | None = None

    @property
    def is_connect(self) -> bool:
        return self.end_user_id is not None

    @property
    def caller(self) -> Caller:
        return Caller(self.tenant_id, self.user_id, self.tier)

    def csrf_ok(self, sent: str | None) -> bool:
        return bool(sent) and secrets.compare_digest(self.csrf_token.encode(), (sent or "").encode())


@dataclass(frozen=True)
class ConnectSessionCreated:
    id: UUID
    token: str
    expires_at: datetime


class UiSessions:
    def __init__(
        self, db: Database, registry: ConnectorRegistry, *, ttl_s: float, connect_ttl_s: float
    ) -> None:
        self._db = db
        self._registry = registry
        self._ttl = timedelta(seconds=ttl_s)
        self._connect_ttl = timedelta(seconds=connect_ttl_s)

    async def sign_in(self, principal: Principal) -> tuple[str, UiSession]:
        """A new session for a verified user; returns the cookie value and the session."""
        assert principal.tenant_id and principal.user_id and principal.tier
        expires = datetime.now(UTC) + self._ttl
        jwt_exp = principal.claims.get("exp")
        if isinstance(jwt_exp, int | float):
            expires = min(expires, datetime.fromtimestamp(jwt_exp, UTC))
        session = UiSession(
            principal.tenant_id, principal.user_id, principal.tier, secrets.token_urlsafe(32), expires
        )
        return await self._store(session), session

    async def _store(self, session: UiSession) -> str:
        cookie = secrets.token_urlsafe(32)
        async with self._db.transaction() as conn:
            await repo.insert_session(
                conn,
                id_hash=_hash(cookie),
                tenant_id=session.tenant_id,
                user_id=session.user_id,
                tier=str(session.tier),
                csrf_token=session.csrf_token,
                expires_at=session.expires_at,
                end_user_id=session.end_user_id,
                allowed_connectors=list(session.allowed_connectors) if session.is_connect else None,
                return_to=session.return_to,
            )
        return cookie

    async def lookup(self, cookie: str | None) -> UiSession | None:
        if not cookie or len(cookie) > 100:
            return None
        async with self._db.connection() as conn:
            row = await repo.live_session(conn, _hash(cookie))
        if row is None:
            return None
        return UiSession(
            tenant_id=row["tenant_id"],
            user_id=row["user_id"],
            tier=Tier(row["tier"]),
            csrf_token=row["csrf_token"],
            expires_at=row["expires_at"],
            end_user_id=row["end_user_id"],
            allowed_connectors=tuple(row["allowed_connectors"] or ()),
            return_to=row["return_to"],
        )

    async def sign_out(self, cookie: str | None) -> None:
        if cookie:
            async with self._db.transaction() as conn:
                await repo.delete_session(conn, _hash(cookie))

    async def purge(self) -> int:
        async with self._db.transaction() as conn:
            return await repo.purge_expired(conn)

    async def create_connect(
        self,
        caller: Caller,
        *,
        end_user_id: str,
        end_user_email: str | None,
        allowed_connectors: list[str],
        return_to: str | None,
    ) -> ConnectSessionCreated:
        unknown = sorted(c for c in allowed_connectors if self._registry.get(c) is None)
        if unknown:
            raise BadRequest(
                f"unknown connectors: {', '.join(unknown)}",
                code="unknown_connector",
                details={"connectors": unknown},
            )
        allowed = sorted(set(allowed_connectors)) or sorted(r.manifest.id for r in self._registry.all())
        token = secrets.token_urlsafe(32)
        created = ConnectSessionCreated(uuid4(), token, datetime.now(UTC) + self._connect_ttl)
        async with self._db.transaction() as conn:
            await repo.insert_connect(
                conn,
                token_hash=_hash(token),
                session_id=created.id,
                tenant_id=caller.tenant_id,
                created_by=caller.user_id,
                tier=str(caller.tier),
                end_user_id=end_user_id,
                end_user_email=end_user_email,
                allowed_connectors=allowed,
                return_to=return_to,
                expires_at=created.expires_at,
            )
        return created

    async def open_connect(self, token: str | None) -> tuple[str, UiSession] | None:
        """The browser session a connect token opens (once), or None."""
        if not token or len(token) > 100:
            return None
        async with self._db.transaction() as conn:
            row = await repo.use_connect(conn, _hash(token))
        if row is None:
            return None
        session = UiSession(
            tenant_id=row["tenant_id"],
            user_id=row["created_by"],
            tier=Tier(row["tier"]),
            csrf_token=secrets.token_urlsafe(32),
            expires_at=row["expires_at"],
            end_user_id=row["end_user_id"],
            allowed_connectors=tuple(row["allowed_connectors"]),
            return_to=row["return_to"],
        )
        return await self._store(session), session

    async def tag(self, session: UiSession, connection_id: UUID) -> None:
        if session.end_user_id is not None:
            async with self._db.transaction() as conn:
                await repo.tag_end_user(conn, session.tenant_id, connection_id, session.end_user_id)

    async def end_users(self, caller: Caller) -> dict[UUID, str]:
        async with self._db.connection() as conn:
            return await repo.end_users(conn, caller.tenant_id)
