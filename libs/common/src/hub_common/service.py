"""The command line every service shares: ``serve`` and ``migrate`` (plus its own commands).

Configuration problems (unreachable Kafka, wrong DSN, bad settings) end the process with one
line naming the cause, never a stack trace wall.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from hub_common.db.migrations import MigrationError, MigrationSource, common_migrations, migrate
from hub_common.errors import ConfigurationError
from hub_common.logging import configure_logging
from hub_common.preflight import preflight
from hub_common.serving import Server, serve
from hub_common.settings import HubSettings
from hub_common.telemetry import setup_telemetry
from hub_common.web.auth import check_service_identity

Command = Callable[[argparse.Namespace, HubSettings], int]


@dataclass
class ServiceSpec:
    name: str
    settings_factory: Callable[[], HubSettings]
    app_factory: str  # "package.module:function", imported by each worker (so workers can fork)
    schema: str
    migrations: Sequence[MigrationSource] = ()
    needs: Sequence[str] = ("postgres", "kafka")
    commands: dict[str, tuple[str, Command]] = field(default_factory=dict)
    # The HTTP server ``serve`` runs the app on (hub_common.serving), chosen by measurement.
    server: Server = "uvicorn"

    def migration_sources(self) -> list[MigrationSource]:
        return [common_migrations(), *self.migrations]


def run_migrations(spec: ServiceSpec, settings: HubSettings) -> list[str]:
    return asyncio.run(migrate(settings.postgres_dsn, spec.schema, spec.migration_sources()))


def _serve(spec: ServiceSpec, args: argparse.Namespace, settings: HubSettings) -> int:
    check_service_identity(settings, args.host or settings.host)
    preflight(settings, spec.needs)
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers inherit this and share their metrics through it.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=f"hub-{spec.name}-metrics-")
    serve(
        spec.server,
        spec.app_factory,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers,
        log_level=settings.log_level,
    )
    return 0


def _migrate(spec: ServiceSpec, _: argparse.Namespace, settings: HubSettings) -> int:
    applied = run_migrations(spec, settings)
    print(f"{spec.name}: schema {spec.schema} up to date ({len(applied)} applied)")
    return 0


def run_cli(spec: ServiceSpec, argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"hub-{spec.name}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=1)
    sub.add_parser("migrate", help="apply this service's database migrations")
    for name, (help_text, _) in spec.commands.items():
        sub.add_parser(name, help=help_text)
    args = parser.parse_args(argv)
    try:
        settings = spec.settings_factory()
        configure_logging(spec.name, settings.log_level, settings.log_json)
        setup_telemetry(f"hub-{spec.name}", settings.otlp_endpoint)
        if args.command == "serve":
            return _serve(spec, args, settings)
        if args.command == "migrate":
            return _migrate(spec, args, settings)
        return spec.commands[args.command][1](args, settings)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        print(
            f"hub-{spec.name}: error: invalid setting HUB_{loc.upper()}: {first.get('msg')}", file=sys.stderr
        )
    except (ConfigurationError, MigrationError) as exc:
        print(f"hub-{spec.name}: error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 2
