"""argparse wiring: ``hubctl stack up|down [--purge]|status``."""

from __future__ import annotations

import argparse
from pathlib import Path

from hubctl.stack.common import find_repo_root
from hubctl.stack.core import stack_down, stack_status, stack_up


def add_stack_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "stack",
        help="Postgres, Kafka and Redis on this machine, without Docker",
        description="Run Postgres (127.0.0.1:15432), Kafka (127.0.0.1:19092, controller 19093) and "
        "Redis (127.0.0.1:16379) locally; files live under .stack/. HUB_POSTGRES_PORT, HUB_KAFKA_PORT, "
        "HUB_KAFKA_CONTROLLER_PORT and HUB_REDIS_PORT move them.",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="the checkout (default: found from the current directory)",
    )
    sub = parser.add_subparsers(dest="stack_command", required=True, metavar="{up,down,status}")
    sub.add_parser("up", help="install what is missing, start, wait until ready (idempotent)")
    down = sub.add_parser("down", help="stop what `stack up` started; data is kept")
    down.add_argument("--purge", action="store_true", help="also delete the data directories")
    sub.add_parser("status", help="what runs, with pid and address")
    parser.set_defaults(func=handle_stack)
    return parser


def handle_stack(args: argparse.Namespace) -> int:
    """Run the chosen subcommand; StackError propagates to main, which prints it as one line.

    ``status`` exits 3 when a component is not running (like ``systemctl status``).
    """
    root = find_repo_root(args.root)
    if args.stack_command == "up":
        stack_up(root)
        return 0
    if args.stack_command == "down":
        stack_down(root, purge=args.purge)
        return 0
    states = stack_status(root)
    for name, state in states.items():
        print(f"{name:<11} {state}")
    return 0 if all(s.startswith("running") for s in states.values()) else 3
