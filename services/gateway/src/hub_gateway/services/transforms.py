"""Tenant transforms (Enterprise): validated on save, cached for the proxy, shared by the bus.

A save on one replica drops the cached spec on every replica through the bus; the cache TTL
(5 s) bounds staleness if a bus message is lost.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from hub_common.db import Database
from hub_gateway.adapters.bus import Bus
from hub_gateway.domain.errors import InvalidTransform
from hub_gateway.domain.transforms import TransformSpec
from hub_gateway.repositories import transforms as repo
from hub_gateway.repositories.transforms import TransformRow as TransformRow  # the routes' type
from hub_gateway.services.cache import TtlCache

log = logging.getLogger(__name__)
BUS_KIND = "transforms"


def validate_spec(raw: Any) -> TransformSpec:
    try:
        return TransformSpec.model_validate(raw)
    except ValidationError as exc:
        problems = [
            {"loc": ".".join(str(p) for p in err["loc"]), "msg": err["msg"]} for err in exc.errors()[:20]
        ]
        raise InvalidTransform("the transform spec is not valid", details={"problems": problems}) from None


class TransformService:
    def __init__(self, db: Database, bus: Bus | None, *, ttl_s: float = 5.0) -> None:
        self._db = db
        self._bus = bus
        self._cache: TtlCache[tuple[str, str], TransformSpec | None] = TtlCache(
            ttl_s=ttl_s, max_entries=10_000
        )
        if bus is not None:
            bus.on(BUS_KIND, self._on_bus)

    async def for_call(self, tenant_id: str, connector_id: str) -> TransformSpec | None:
        key = (tenant_id, connector_id)
        return await self._cache.get(key, lambda: self._load(tenant_id, connector_id))

    async def _load(self, tenant_id: str, connector_id: str) -> TransformSpec | None:
        row = await self.get(tenant_id, connector_id)
        return TransformSpec.model_validate(row.spec) if row else None

    async def get(self, tenant_id: str, connector_id: str) -> TransformRow | None:
        async with self._db.connection() as conn:
            return await repo.get(conn, tenant_id, connector_id)

    async def list(self, tenant_id: str) -> list[TransformRow]:
        async with self._db.connection() as conn:
            return await repo.list_for_tenant(conn, tenant_id)

    async def put(self, tenant_id: str, connector_id: str, raw: Any, updated_by: str) -> TransformRow:
        spec = validate_spec(raw)
        async with self._db.connection() as conn:
            row = await repo.put(conn, tenant_id, connector_id, spec.model_dump(mode="json"), updated_by)
        await self._changed(tenant_id, connector_id)
        return row

    async def delete(self, tenant_id: str, connector_id: str) -> bool:
        async with self._db.connection() as conn:
            deleted = await repo.delete(conn, tenant_id, connector_id)
        await self._changed(tenant_id, connector_id)
        return deleted

    async def _changed(self, tenant_id: str, connector_id: str) -> None:
        self._cache.invalidate((tenant_id, connector_id))
        if self._bus is not None:
            try:
                await self._bus.publish(BUS_KIND, tenant_id=tenant_id, connector_id=connector_id)
            except Exception as exc:  # other replicas converge within the cache TTL
                log.warning("transform change not broadcast", extra={"error": type(exc).__name__})

    def _on_bus(self, data: dict[str, Any]) -> None:
        self._cache.invalidate((str(data["tenant_id"]), str(data["connector_id"])))
