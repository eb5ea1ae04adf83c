"""Gap filling: GitHub never redelivers a failed delivery on its own, so after an outage of the
intake the hub lists the hook's recent deliveries and asks GitHub to redeliver the ones that
never reached it (dedupe on ``X-GitHub-Delivery`` makes asking twice harmless).

The calls go to GitHub through the gateway, with the connection's credentials, as the webhooks
service acting for the registration's tenant. It runs when the service starts (the outage just
ended), every ``interval_s`` (an intake answering 5xx for a while), and on demand
(``POST /v1/webhooks/registrations/{id}/fill-gaps``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from hub_common.db import Database
from hub_common.web.auth import ServiceTokenMinter
from hub_webhooks.domain.registration import Mode, Registration, Status
from hub_webhooks.repositories import registrations

log = logging.getLogger(__name__)
GAP_FILLED_CONNECTORS = frozenset({"github", "github_pat"})
MAX_PAGES = 10


@dataclass(frozen=True, slots=True)
class GapReport:
    listed: int  # deliveries GitHub listed within the window
    missing: int  # delivery ids (guids) that never reached the hub
    requested: int  # redeliveries asked for


def _is_success(item: dict[str, Any]) -> bool:
    code = item.get("status_code")
    return isinstance(code, int) and 200 <= code < 300


class GitHubGapFiller:
    def __init__(
        self,
        db: Database,
        minter: ServiceTokenMinter,
        gateway_url: str,
        *,
        lookback_s: float,
        timeout_s: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._db = db
        self._minter = minter
        self._gateway = gateway_url.rstrip("/")
        self._lookback = timedelta(seconds=lookback_s)
        self._timeout = timeout_s
        self._transport = transport

    @staticmethod
    def applies_to(registration: Registration) -> bool:
        meta = registration.provider_metadata
        return (
            registration.connector_id in GAP_FILLED_CONNECTORS
            and registration.mode is Mode.AUTO
            and registration.status is Status.ACTIVE
            and bool(registration.external_id)
            and "owner" in meta
            and "repo" in meta
        )

    async def fill(self, registration: Registration, tier: str | None) -> GapReport:
        if not self.applies_to(registration):
            return GapReport(0, 0, 0)
        meta = registration.provider_metadata
        hook = (
            f"repos/{quote(str(meta['owner']), safe='')}/{quote(str(meta['repo']), safe='')}"
            f"/hooks/{quote(str(registration.external_id), safe='')}/deliveries"
        )
        base = f"{self._gateway}/v1/proxy/{registration.connection_id}/{hook}"
        headers = {**self._minter.headers_for("gateway"), "X-Hub-Tenant": registration.tenant_id}
        if tier:
            headers["X-Hub-Tier"] = tier
        since = datetime.now(UTC) - self._lookback
        async with httpx.AsyncClient(
            timeout=self._timeout, transport=self._transport, headers=headers
        ) as http:
            listed = await self._list(http, base, since)
            by_guid: dict[str, list[dict[str, Any]]] = {}
            for item in listed:
                by_guid.setdefault(str(item.get("guid")), []).append(item)
            async with self._db.connection() as conn:
                seen = set(
                    await conn.fetch(
                        "SELECT delivery_id FROM webhook_inbound WHERE registration_id = $1 "
                        "AND delivery_id = ANY($2::text[])",
                        registration.id,
                        list(by_guid),
                    )
                )
            accepted = {r["delivery_id"] for r in seen}
            missing = {
                guid: attempts
                for guid, attempts in by_guid.items()
                if guid not in accepted and not any(_is_success(a) for a in attempts)
            }
            requested = 0
            for attempts in missing.values():
                latest = max(attempts, key=lambda a: int(a.get("id") or 0))
                resp = await http.post(f"{base}/{int(latest['id'])}/attempts")
                if resp.status_code in (200, 201, 202):
                    requested += 1
                else:
                    log.warning(
                        "GitHub refused a redelivery",
                        extra={"status": resp.status_code, "registration": str(registration.id)},
                    )
        return GapReport(len(listed), len(missing), requested)

    async def _list(self, http: httpx.AsyncClient, base: str, since: datetime) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            params = {"per_page": "100", **({"cursor": cursor} if cursor else {})}
            resp = await http.get(base, params=params)
            resp.raise_for_status()
            page = resp.json()
            if not isinstance(page, list):
                break
            for item in page:
                if not isinstance(item, dict):
                    continue
                try:
                    at = datetime.fromisoformat(str(item.get("delivered_at")).replace("Z", "+00:00"))
                except ValueError:
                    continue
                if at >= since:
                    out.append(item)
            cursor = _next_cursor(resp.headers.get("link"))
            if cursor is None:
                break
        return out

    async def fill_all(self) -> dict[str, int]:
        """Every active ``auto`` GitHub registration; a failure on one does not stop the rest."""
        totals = {"registrations": 0, "requested": 0, "failed": 0}
        async with self._db.connection() as conn:
            regs = [r for c in GAP_FILLED_CONNECTORS for r in await registrations.active_auto(conn, c)]
            tiers = dict(await conn.fetch("SELECT tenant_id, tier FROM tenants"))
        for registration in regs:
            try:
                report = await self.fill(registration, tiers.get(registration.tenant_id))
            except Exception:
                totals["failed"] += 1
                log.warning("gap filling failed for a registration", exc_info=True)
                continue
            totals["registrations"] += 1
            totals["requested"] += report.requested
        return totals

    async def run_every(self, interval_s: float, first_delay_s: float = 2.0) -> None:
        await asyncio.sleep(first_delay_s)
        while True:
            totals = await self.fill_all()
            if totals["requested"] or totals["failed"]:
                log.info("webhook gap filling: %s", totals)
            await asyncio.sleep(interval_s)


def _next_cursor(link: str | None) -> str | None:
    """GitHub pages hook deliveries with ``Link: <...?cursor=X>; rel="next"``."""
    if not link:
        return None
    for part in link.split(","):
        if 'rel="next"' in part and "cursor=" in part:
            value = part.split("cursor=", 1)[1]
            return value.split("&", 1)[0].split(">", 1)[0]
    return None
