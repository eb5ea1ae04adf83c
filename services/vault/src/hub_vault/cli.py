"""``hub-vault serve|migrate|keygen|rewrap``."""

from __future__ import annotations

import argparse
import asyncio
import sys

from hub_common.db.migrations import MigrationSource
from hub_common.service import ServiceSpec, run_cli
from hub_common.settings import HubSettings
from hub_vault.config import NEEDS, SCHEMA, VaultSettings
from hub_vault.domain.keyring import dump_keyring_json, new_keyring
from hub_vault.repositories.rewrap_jobs import RewrapJob
from hub_vault.services.call_context import CallContext

CLI_CALLER = "hub-vault-cli"


def keygen(_: argparse.Namespace, __: HubSettings) -> int:
    """Print a fresh one-version keyring (JSON) for HUB_VAULT_KEYRING_FILE or a Secret."""
    sys.stdout.write(dump_keyring_json(new_keyring()))
    return 0


def rewrap(_: argparse.Namespace, settings: HubSettings) -> int:
    """Rewrap every value to the primary version in the foreground, printing progress."""
    from hub_vault.inject import Container

    assert isinstance(settings, VaultSettings)

    def report(job: RewrapJob, _: int) -> None:
        print(
            f"rewrap {job.id}: {job.rewrapped}/{job.total} rewrapped, {job.skipped} skipped, "
            f"{job.failed} failed",
            file=sys.stderr,
            flush=True,
        )

    async def run() -> RewrapJob:
        async with Container(settings, needs=("postgres",)) as container:
            return await container.rewrap.run_to_completion(CallContext(CLI_CALLER), progress=report)

    job = asyncio.run(run())
    print(
        f"rewrap {job.id}: {job.status}; {job.rewrapped} rewrapped to version "
        f"{job.target_version}, {job.failed} failed"
    )
    return 0 if job.status == "completed" and job.failed == 0 else 1


SPEC = ServiceSpec(
    name="vault",
    settings_factory=VaultSettings,
    app_factory="hub_vault.app:create_app",
    schema=SCHEMA,
    migrations=[MigrationSource.from_package("vault", "hub_vault")],
    needs=NEEDS,
    commands={
        "keygen": ("print a new keyring (one random 256-bit key) as JSON", keygen),
        "rewrap": ("rewrap all values to the primary key version (foreground)", rewrap),
    },
)


def main() -> None:
    sys.exit(run_cli(SPEC))
