"""Where the secret of registrations verified with the connection's OAuth app client secret is
(Atlassian's JWTs, docs/adr/0030), asked of the oauth service with this service's identity.

The oauth service answers vault keys (an owner id and the current and, during a rotation's
overlap, the previous copy), never a value; the vault lets this service read exactly those keys.
Answers are kept ``ttl_s`` per connection; a ``credential.changed`` of a copy drops the tenant's
at once, and a delivery that fails to verify may ask again (``fresh``) at most every
``min_refresh_s``, so a rotated secret verifies without waiting out the cache.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from hub_common.clients.service import ServiceClient, ServiceResponse
from hub_common.errors import NotFound, ServiceUnavailable, Unprocessable

NOT_FROM_APP = "webhook_secret_not_from_app"


@dataclass(frozen=True, slots=True)
class AppSecretRef:
    connector_id: str
    owner_id: UUID
    keys: list[str]
    app: str  # "tenant" (the tenant's own app) or "deployment" (HUB_OAUTH_DEFAULT_APPS)
    client_id: str
    rotated_at: datetime
    previous_valid_until: datetime | None


class NotSignedWithAppSecret(Exception):
    """The connection's webhooks are not signed with its OAuth app's client secret."""


class AppSecretDirectory:
    def __init__(
        self,
        oauth: ServiceClient,
        *,
        ttl_s: float,
        min_refresh_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._oauth = oauth
        self._ttl = ttl_s
        self._min_refresh = min_refresh_s
        self._clock = clock
        self._items: dict[tuple[str, UUID], tuple[AppSecretRef, float, float]] = {}  # ref, expiry, fetched
        self._loading: dict[tuple[str, UUID], asyncio.Future[AppSecretRef]] = {}

    async def reference(
        self, tenant_id: str, connection_id: UUID, *, fresh: bool = False, force: bool = False
    ) -> AppSecretRef:
        """``fresh`` asks again unless the answer held is younger than ``min_refresh_s`` (a
        delivery that did not verify); ``force`` always asks (a user reading the registration)."""
        slot = (tenant_id, connection_id)
        hit = self._items.get(slot)
        now = self._clock()
        stale = force or (fresh and hit is not None and now - hit[2] >= self._min_refresh)
        if hit is not None and hit[1] > now and not stale:
            return hit[0]
        pending = self._loading.get(slot)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[AppSecretRef] = asyncio.get_running_loop().create_future()
        self._loading[slot] = future
        try:
            ref = await self._fetch(tenant_id, connection_id)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no warning when nobody else waited
            raise
        finally:
            self._loading.pop(slot, None)
        if len(self._items) > 50_000:
            self._items.clear()
        self._items[slot] = (ref, self._clock() + self._ttl, self._clock())
        future.set_result(ref)
        return ref

    def forget_tenant(self, tenant_id: str) -> None:
        for slot in [s for s in self._items if s[0] == tenant_id]:
            del self._items[slot]

    async def _fetch(self, tenant_id: str, connection_id: UUID) -> AppSecretRef:
        resp = await self._oauth.request(
            "POST",
            f"/internal/v1/oauth/connections/{connection_id}/webhook-secret",
            json={"tenant_id": tenant_id},
        )
        if resp.is_success:
            data = resp.json()
            until = data.get("previous_valid_until")
            return AppSecretRef(
                connector_id=data["connector_id"],
                owner_id=UUID(data["owner_id"]),
                keys=[str(k) for k in data["keys"]],
                app=data["app"],
                client_id=data["client_id"],
                rotated_at=datetime.fromisoformat(data["rotated_at"]),
                previous_valid_until=datetime.fromisoformat(until) if until else None,
            )
        raise _error(resp.status_code, _body_error(resp))


def _body_error(resp: ServiceResponse) -> dict[str, object]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    err = body.get("error") if isinstance(body, dict) else None
    return err if isinstance(err, dict) else {}


def _error(status: int, err: dict[str, object]) -> Exception:
    code = str(err.get("code") or "app_secret_lookup_failed")
    message = str(err.get("message") or f"the oauth service answered {status}")
    if status == 409 and code == NOT_FROM_APP:
        return NotSignedWithAppSecret(message)
    if status == 404:
        return NotFound(message, code=code)
    if status >= 500 or status in (401, 403):
        # Our own identity or the oauth service is at fault, not the caller's request.
        return ServiceUnavailable(
            "the oauth service could not name the OAuth app's webhook secret", code="oauth_unavailable"
        )
    return Unprocessable(message, code=code)
