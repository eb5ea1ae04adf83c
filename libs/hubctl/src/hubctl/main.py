"""``hubctl``: stack up|down|status, up, down, status, migrate, token, asyncapi."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from hub_common.errors import ConfigurationError, HubError
from hub_common.settings import HubSettings
from hub_common.web.auth import Tier, mint_user_token
from hubctl import services
from hubctl.keys import add_keys_parser, local_service_env
from hubctl.ports import PortError, StackPorts, apply_stack_env
from hubctl.vault_admin import add_vault_parser


def _root() -> Path:
    from hubctl.stack import find_repo_root

    return find_repo_root()


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_token(args: argparse.Namespace) -> int:
    settings = HubSettings()
    print(mint_user_token(settings, tenant=args.tenant, user=args.user, tier=args.tier, ttl_s=args.ttl))
    return 0


def cmd_asyncapi(args: argparse.Namespace) -> int:
    from hub_common.events.asyncapi import asyncapi_document

    text = json.dumps(asyncapi_document(), indent=2, sort_keys=True) + "\n"
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def _migrate_all(root: Path | None) -> None:
    for svc in services.SERVICES:
        started = time.monotonic()
        proc = subprocess.run(  # noqa: S603
            [services._executable(svc), "migrate"],
            cwd=root,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise services.ServiceError((proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1])
        _say(f"{svc.name}: migrated ({time.monotonic() - started:.1f}s)")


def _ensure_topics(partitions: int = 3, replication_factor: int = 1) -> None:
    from hub_common.kafka.admin import ensure_topics, hub_topics, wait_for_group_coordinator

    settings = HubSettings()
    created = asyncio.run(
        ensure_topics(
            settings.kafka_bootstrap,
            hub_topics(),
            partitions=partitions,
            replication_factor=replication_factor,
        )
    )
    _say(f"kafka: {len(hub_topics())} topics present ({len(created)} created)")
    # Services started before the coordinator exists log a burst of aiokafka warnings.
    started = time.monotonic()
    asyncio.run(wait_for_group_coordinator(settings.kafka_bootstrap))
    _say(f"kafka: group coordinator ready ({time.monotonic() - started:.1f}s)")


def cmd_topics(args: argparse.Namespace) -> int:
    _ensure_topics(args.partitions, args.replication_factor)
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    _migrate_all(None)  # works outside a checkout too (a container image)
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from hubctl.stack import stack_up

    root = _root()
    stack_up(root)
    _ensure_topics()
    _migrate_all(root)
    for svc in services.SERVICES:
        services.start(root, svc, local_service_env(root, svc.name))
    for svc in services.SERVICES:
        started = time.monotonic()
        services.wait_ready(root, svc)
        _say(f"{svc.name}: ready on {svc.url()} ({time.monotonic() - started:.1f}s)")
    print("\nIntegration Hub is up:")
    for svc in services.SERVICES:
        print(f"  {svc.name:<11} {svc.url():<24} {svc.public_paths}")
    print(
        f"  kafka       {os.environ['HUB_KAFKA_BOOTSTRAP']}\n  postgres    {os.environ['HUB_POSTGRES_DSN']}"
        f"\n  redis       {os.environ['HUB_REDIS_URL']}"
    )
    print("\nA dev token: hubctl token --tenant acme --user alice --tier teams")
    print("Service keys: .stack/keys/ (each service gets its own; `hubctl keys env <service>`)")
    print("Logs: .stack/logs/   Stop: make down")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    from hubctl.stack import stack_down

    root = _root()
    for svc in reversed(services.SERVICES):
        if services.stop(root, svc):
            _say(f"{svc.name}: stopped")
    if not args.services_only:
        stack_down(root)
    return 0


def cmd_env(_: argparse.Namespace) -> int:
    """``eval "$(hubctl env)"``: the stack's addresses for this shell (scripts/test.sh, bench.sh)."""
    for key in sorted(StackPorts.from_env().stack_env()):
        print(f"export {key}={shlex.quote(os.environ[key])}")
    return 0


def cmd_status(_: argparse.Namespace) -> int:
    from hubctl.stack import stack_status

    root = _root()
    for name, state in {**stack_status(root), **services.status(root)}.items():
        print(f"{name:<11} {state}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from hubctl.stack import add_stack_parser

    parser = argparse.ArgumentParser(prog="hubctl", description="Integration Hub operator CLI")
    sub = parser.add_subparsers(dest="command", required=True)
    add_stack_parser(sub)

    up = sub.add_parser("up", help="stack + migrations + every service, then print the URLs")
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="stop the services and the stack")
    down.add_argument("--services-only", action="store_true")
    down.set_defaults(func=cmd_down)
    sub.add_parser("status", help="what runs where").set_defaults(func=cmd_status)
    sub.add_parser(
        "env", help="print `export HUB_...` lines for the stack's addresses (HUB_*_PORT moves them)"
    ).set_defaults(func=cmd_env)
    sub.add_parser("migrate", help="migrate every service's schema").set_defaults(func=cmd_migrate)
    topics = sub.add_parser("topics", help="create the event and dead-letter topics if missing")
    # A production cluster (the Kubernetes topics Job, docs/operations.md) wants more than one
    # replica; the local stack's single broker takes the defaults.
    topics.add_argument("--partitions", type=int, default=3)
    topics.add_argument("--replication-factor", type=int, default=1)
    topics.set_defaults(func=cmd_topics)

    token = sub.add_parser("token", help="print a dev bearer token")
    token.add_argument("--tenant", required=True)
    token.add_argument("--user", required=True)
    token.add_argument("--tier", required=True, choices=[t.value for t in Tier])
    token.add_argument("--ttl", type=int, default=12 * 3600, help="seconds (default 12h)")
    token.set_defaults(func=cmd_token)

    add_vault_parser(sub)
    add_keys_parser(sub)

    api = sub.add_parser("asyncapi", help="write the AsyncAPI document of the event topics")
    api.add_argument("--output", "-o")
    api.set_defaults(func=cmd_asyncapi)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        # HUB_*_PORT moves the local stack; hubctl and the services it starts then use the
        # addresses that makes (a second checkout beside the first).
        apply_stack_env()
        code = args.func(args)
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:
        from hubctl.stack import StackError

        if not isinstance(
            exc, StackError | services.ServiceError | ConfigurationError | HubError | PortError
        ):
            raise
        print(f"hubctl: error: {exc}", file=sys.stderr)
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
