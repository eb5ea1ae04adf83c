"""A dependency outage is a 503 naming the dependency, with ``Retry-After``, never a 500.

The exception chain and the frames it went through tell which dependency failed: asyncpg's
errors (or an ``OSError``/timeout raised inside asyncpg, as a refused connect is) mean Postgres,
redis-py's connection errors mean Redis, aiokafka's mean Kafka.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import TracebackType

from hub_common.web.errors import error_body
from hub_common.web.responses import JsonResponse

RETRY_AFTER_S = 2


@dataclass(frozen=True)
class Outage:
    dependency: str  # postgres | redis | kafka

    @property
    def code(self) -> str:
        return {"postgres": "database_unavailable"}.get(self.dependency, f"{self.dependency}_unavailable")

    def response(self, request_id: str | None) -> JsonResponse:
        body = error_body(
            self.code,
            f"{self.dependency} is unavailable; retry shortly",
            {"dependency": self.dependency},
            request_id,
        )
        return JsonResponse(body, status_code=503, headers={"retry-after": str(RETRY_AFTER_S)})


def _modules_in(tb: TracebackType | None) -> set[str]:
    found: set[str] = set()
    while tb is not None:
        name = tb.tb_frame.f_globals.get("__name__", "")
        found.add(name.split(".", 1)[0])
        tb = tb.tb_next
    return found


def _classify(exc: BaseException) -> str | None:
    module = type(exc).__module__.split(".", 1)[0]
    name = type(exc).__name__
    if module == "asyncpg":
        # Errors the server raised about the statement itself are not outages.
        if (
            name in {"InterfaceError"}
            or "Connection" in name
            or name
            in {
                "CannotConnectNowError",
                "TooManyConnectionsError",
                "AdminShutdownError",
                "CrashShutdownError",
                "ServerNotReadyError",
            }
        ):
            return "postgres"
        return None
    if module == "redis" and name in {"ConnectionError", "TimeoutError", "BusyLoadingError"}:
        return "redis"
    if module == "aiokafka" and name in {"KafkaConnectionError", "KafkaTimeoutError", "NodeNotReadyError"}:
        return "kafka"
    if isinstance(exc, (OSError, asyncio.TimeoutError, TimeoutError)):
        modules = _modules_in(exc.__traceback__)
        for lib, dependency in (("asyncpg", "postgres"), ("redis", "redis"), ("aiokafka", "kafka")):
            if lib in modules:
                return dependency
    return None


def dependency_outage(exc: BaseException) -> Outage | None:
    """The dependency whose outage ``exc`` (or an exception it was raised from) reports."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        dependency = _classify(current)
        if dependency is not None:
            return Outage(dependency)
        current = current.__cause__ or current.__context__
    return None
