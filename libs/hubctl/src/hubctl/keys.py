"""Service identity keys (ADR 0010): the local stack's, and new ones for a deployment.

``hubctl up`` keeps one Ed25519 key per service in ``.stack/keys/<service>.key`` (made once,
mode 0600) and starts each service with only its own key file and its callers' public keys.
``hubctl keys generate`` prints a fresh key pair for an operator to store in their secret manager;
``hubctl keys env <service>`` prints the variables the local stack gives that service;
``hubctl keys compose`` prints a fresh set for docker-compose.yml's ``.env``.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub_common.service_keys import (
    SERVICE_CALLERS,
    SERVICE_IDS,
    ServiceKeySet,
    encode_private_key,
    encode_public_key,
)


def stack_keys(root: Path) -> ServiceKeySet:
    return ServiceKeySet.load_or_create(root / ".stack" / "keys")


def local_service_env(root: Path, service: str) -> dict[str, str]:
    """What ``hubctl up`` starts ``service`` with: the explicit dev opt-in (loopback only), its
    own key file and the public keys of the services allowed to call it."""
    return {"HUB_ENVIRONMENT": "dev", **stack_keys(root).env_for(service)}


def local_key_file(root: Path, service: str) -> Path | None:
    path = root / ".stack" / "keys" / f"{service}.key"
    return path if path.exists() else None


def _generate(args: argparse.Namespace) -> int:
    key = Ed25519PrivateKey.generate()
    callers = [r for r, c in SERVICE_CALLERS.items() if args.service in c]
    print(f"# {args.service}: give the private key to {args.service} only (a secret)")
    print(f"HUB_SERVICE_PRIVATE_KEY={encode_private_key(key)}")
    print(f"# add to HUB_SERVICE_PUBLIC_KEYS of: {', '.join(callers) or 'the services it calls'}")
    print(f"{args.service}={encode_public_key(key.public_key())}")
    return 0


def _env(args: argparse.Namespace) -> int:
    from hubctl.stack import find_repo_root

    for name, value in local_service_env(find_repo_root(), args.service).items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def compose_env(keys: ServiceKeySet) -> list[str]:
    """The ``.env`` lines docker-compose.yml reads: per service its private key and its callers'
    public keys (compose hands each container only its own pair)."""
    lines = []
    for service in SERVICE_CALLERS:
        env = keys.env_for(service)
        lines.append(f"{service.upper()}_SERVICE_PRIVATE_KEY={encode_private_key(keys.private_key(service))}")
        lines.append(f"{service.upper()}_SERVICE_PUBLIC_KEYS={env['HUB_SERVICE_PUBLIC_KEYS']}")
    return lines


def _compose(_: argparse.Namespace) -> int:
    print("# service identities for docker-compose.yml (ADR 0010); keep this file secret")
    for line in compose_env(ServiceKeySet.generate()):
        print(line)
    return 0


def add_keys_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = sub.add_parser("keys", help="service identity keys (Ed25519): generate, or the local stack's")
    cmds = keys.add_subparsers(dest="keys_command", required=True)
    generate = cmds.add_parser("generate", help="print a new key pair for a service (deployments)")
    generate.add_argument("service")
    generate.set_defaults(func=_generate)
    env = cmds.add_parser("env", help="print the local stack's identity variables for a service")
    env.add_argument("service", choices=SERVICE_IDS)
    env.set_defaults(func=_env)
    compose = cmds.add_parser("compose", help="print new keys for every service as docker-compose .env lines")
    compose.set_defaults(func=_compose)
