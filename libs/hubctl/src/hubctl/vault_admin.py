"""``hubctl vault versions|rotate|rewrap|retire``: key management through the vault's admin API.

hubctl calls as the service ``hubctl``, the only identity the vault's policy lets manage keys
(and which can read, write or sign with no credential), signing with its own key:
HUB_SERVICE_PRIVATE_KEY(_FILE), else the local stack's ``.stack/keys/hubctl.key``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from hub_common.clients.vault import KeyVersion, RewrapJob, VaultAdminClient
from hub_common.settings import HubSettings


def _client() -> VaultAdminClient:
    settings = HubSettings(service_name="hubctl")
    if not settings.service_private_key.get_secret_value() and settings.service_private_key_file is None:
        # Next to the local stack, hubctl's own key from .stack/keys (made by `hubctl up`).
        from hubctl.keys import local_key_file
        from hubctl.stack import StackError, find_repo_root

        try:
            local = local_key_file(find_repo_root(), "hubctl")
        except StackError:
            local = None
        if local is not None:
            settings = HubSettings(service_name="hubctl", service_private_key_file=local)
    return VaultAdminClient.from_settings(settings)


def _show_versions(versions: list[KeyVersion]) -> None:
    print(f"{'version':>7}  {'state':<8} {'in keyring':<10} {'values':>8}")
    for v in versions:
        print(f"{v.version:>7}  {v.state:<8} {'yes' if v.in_keyring else 'no':<10} {v.values:>8}")


def _show_job(job: RewrapJob) -> None:
    left = "" if job.remaining is None else f", {job.remaining} left"
    print(
        f"rewrap {job.id}: {job.status} → v{job.target_version}: {job.rewrapped}/{job.total} rewrapped, "
        f"{job.skipped} skipped, {job.failed} failed{left}",
        file=sys.stderr,
    )


async def _versions() -> int:
    async with _client() as vault:
        _show_versions(await vault.key_versions())
    return 0


async def _rotate() -> int:
    async with _client() as vault:
        new = await vault.rotate()
        print(f"key version {new.version} is now primary; run `hubctl vault rewrap` to move stored values")
    return 0


async def _rewrap(wait: bool) -> int:
    async with _client() as vault:
        job = await vault.start_rewrap()
        _show_job(job)
        while wait and job.status == "running":
            await asyncio.sleep(1)
            job = await vault.rewrap_job(job.id)
            _show_job(job)
    if not wait and job.status == "running":
        print("it goes on in the vault; `hubctl vault rewrap --wait` follows it", file=sys.stderr)
    return 0 if job.status in ("running", "completed") else 1


async def _retire(version: int) -> int:
    async with _client() as vault:
        destroyed = await vault.retire(version)
    print(
        f"key version {version} retired" + (" and its material removed from the keyring" if destroyed else "")
    )
    return 0


def handle(args: argparse.Namespace) -> int:
    action = args.vault_command
    if action == "versions":
        return asyncio.run(_versions())
    if action == "rotate":
        return asyncio.run(_rotate())
    if action == "rewrap":
        return asyncio.run(_rewrap(args.wait))
    return asyncio.run(_retire(args.version))


def add_vault_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    vault = sub.add_parser("vault", help="key versions, rotation, rewrap and retirement (HUB_VAULT_URL)")
    cmds = vault.add_subparsers(dest="vault_command", required=True)
    cmds.add_parser("versions", help="key versions and how many values each encrypts (never material)")
    cmds.add_parser("rotate", help="make a new key version primary")
    rewrap = cmds.add_parser("rewrap", help="re-encrypt stored values under the primary version, online")
    rewrap.add_argument("--wait", action="store_true", help="follow the job until it ends")
    retire = cmds.add_parser("retire", help="retire a version (refused while values use it)")
    retire.add_argument("version", type=int)
    vault.set_defaults(func=handle)
