"""The HTTP servers a service can run on: uvicorn (the default) or granian, chosen per service by
measurement (``ServiceSpec.server``; docs/adr/0009-gateway-http-server.md).

Both keep ``serve``'s contract: --host, --port, --workers, the HUB_* settings, lifespan
startup/shutdown in every worker, a graceful stop on SIGTERM, no access log. The app is named by
its factory path, imported in each worker, so workers can fork.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # granian is imported only by the services that run on it
    from granian.log import LogLevels

Server = Literal["uvicorn", "granian"]

# One Rust I/O thread per granian worker: with two, it competed with the Python thread (and, on a
# two-core machine, the load generator and upstream) and was no faster (ADR 0009).
GRANIAN_RUNTIME_THREADS = 1
# granian's own lines go through the root logger, i.e. the service's format (JSON by default).
GRANIAN_LOGGING: dict[str, Any] = {"loggers": {"_granian": {"propagate": True}}}


def serve(server: Server, app_factory: str, *, host: str, port: int, workers: int, log_level: str) -> None:
    if server == "granian":
        _serve_granian(app_factory, host=host, port=port, workers=workers, log_level=log_level)
    else:
        _serve_uvicorn(app_factory, host=host, port=port, workers=workers)


def _serve_uvicorn(app_factory: str, *, host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        app_factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        date_header=False,
    )


def _serve_granian(app_factory: str, *, host: str, port: int, workers: int, log_level: str) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops

    Granian(
        app_factory,
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=Loops.uvloop,
        runtime_threads=GRANIAN_RUNTIME_THREADS,
        http=HTTPModes.http1,
        websockets=False,
        log_level=granian_log_level(log_level),
        log_dictconfig=GRANIAN_LOGGING,
        log_access=False,
        # As uvicorn's supervisor does with several workers; one worker that dies ends the service.
        respawn_failed_workers=workers > 1,
    ).serve()


def granian_log_level(level: str) -> LogLevels:
    from granian.log import LogLevels

    return LogLevels.__members__.get(level.lower(), LogLevels.info)
