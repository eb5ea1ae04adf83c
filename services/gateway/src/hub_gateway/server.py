"""``hub-gateway serve``: the gateway's ASGI app on granian (a Rust HTTP/1.1 server) with uvloop.

Against uvicorn with the gateway's one-write protocol, granian gave ~1.3x the req/s per worker in
the same runs of the bench's wrk flow (docs/adr/0009-gateway-http-server.md): parsing, writes and
keep-alive move off the Python thread. The other services stay on uvicorn (hub_common.service).

The contract is ``serve``'s everywhere: --host, --port, --workers, the HUB_* settings, lifespan
startup/shutdown in every worker, a graceful stop on SIGTERM, no access log, errors in one line.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

from granian import Granian
from granian.constants import HTTPModes, Interfaces, Loops
from granian.log import LogLevels
from pydantic import ValidationError

from hub_common.errors import ConfigurationError
from hub_common.logging import configure_logging
from hub_common.preflight import preflight
from hub_common.telemetry import setup_telemetry
from hub_gateway.config import NEEDS, GatewaySettings

APP_FACTORY = "hub_gateway.app:create_app"  # imported in each worker (workers fork)
# One Rust I/O thread per worker: with two, it competed with the Python thread, wrk and nginx for
# the two cores and was no faster (ADR 0009).
RUNTIME_THREADS = 1
# granian's own lines go through the root logger, i.e. the service's format (JSON by default).
GRANIAN_LOGGING: dict[str, Any] = {"loggers": {"_granian": {"propagate": True}}}


def serve(settings: GatewaySettings, *, host: str | None, port: int | None, workers: int) -> None:
    preflight(settings, NEEDS)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers share their metrics through it (they inherit the environment).
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="hub-gateway-metrics-")
    Granian(
        APP_FACTORY,
        factory=True,
        address=host or settings.host,
        port=port or settings.port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=Loops.uvloop,
        runtime_threads=RUNTIME_THREADS,
        http=HTTPModes.http1,
        websockets=False,
        log_level=_granian_level(settings.log_level),
        log_dictconfig=GRANIAN_LOGGING,
        log_access=False,
        # As uvicorn's supervisor does with several workers; one worker that dies ends the service.
        respawn_failed_workers=workers > 1,
    ).serve()


def run(argv: Sequence[str]) -> int:
    """``hub-gateway serve [--host H] [--port P] [--workers N]``: exit status as run_cli's."""
    parser = argparse.ArgumentParser(prog="hub-gateway serve", description="run the HTTP service")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        settings = GatewaySettings()
        configure_logging("gateway", settings.log_level, settings.log_json)
        setup_telemetry("hub-gateway", settings.otlp_endpoint)
        serve(settings, host=args.host, port=args.port, workers=args.workers)
        return 0
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        print(f"hub-gateway: error: invalid setting HUB_{loc.upper()}: {first.get('msg')}", file=sys.stderr)
    except ConfigurationError as exc:
        print(f"hub-gateway: error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 2


def _granian_level(level: str) -> LogLevels:
    return LogLevels.__members__.get(level.lower(), LogLevels.info)
