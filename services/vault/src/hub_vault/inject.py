"""Composition root of the vault service: settings in, wired use cases out."""

from __future__ import annotations

import contextlib
import logging
from importlib import resources

from hub_common.composition import CompositionRoot
from hub_common.db import Database
from hub_common.db.outbox import channel_for
from hub_common.errors import ConfigurationError
from hub_common.infrastructure import Infrastructure
from hub_common.web.health import ReadinessCheck
from hub_vault.adapters.keyring_source import KeyringSource, open_keyring_source
from hub_vault.adapters.outbox_notify import NotifyDebouncer
from hub_vault.config import NEEDS, SCHEMA, VaultSettings
from hub_vault.domain.policy import Policy, PolicyError, parse_policy
from hub_vault.services.access import AccessControl
from hub_vault.services.credentials import CredentialService
from hub_vault.services.keys import KeyService
from hub_vault.services.rewrap import RewrapService
from hub_vault.services.signing import SigningService

log = logging.getLogger(__name__)


def load_policy(settings: VaultSettings) -> Policy:
    if settings.vault_policy_file is not None:
        try:
            text = settings.vault_policy_file.read_text("utf-8")
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read HUB_VAULT_POLICY_FILE {settings.vault_policy_file}: {exc.strerror}"
            ) from None
        origin = str(settings.vault_policy_file)
    else:
        text = resources.files("hub_vault").joinpath("policies.toml").read_text("utf-8")
        origin = "hub_vault/policies.toml"
    try:
        return parse_policy(text)
    except PolicyError as exc:
        raise ConfigurationError(f"invalid vault policy {origin}: {exc}") from None


def load_keyring(settings: VaultSettings) -> KeyringSource:
    inline = settings.vault_keyring.get_secret_value() if settings.vault_keyring else None
    return open_keyring_source(
        inline=inline,
        file=settings.vault_keyring_file,
        dev_mode=settings.dev_mode,
        dev_path=settings.vault_dev_keyring_path,
        reload_interval_s=settings.vault_keyring_reload_s,
    )


class Container(CompositionRoot):
    """Keyring and policy load at construction, so a bad configuration fails before serving."""

    def __init__(self, settings: VaultSettings, *, needs: tuple[str, ...] = NEEDS) -> None:
        self.settings = settings
        self.infra = Infrastructure(settings, schema=SCHEMA, needs=needs)
        self.keyring = load_keyring(settings)
        self.policy = load_policy(settings)

    async def _open(self, stack: contextlib.AsyncExitStack) -> None:
        s = self.settings
        await self.infra.start()
        stack.push_async_callback(self.infra.stop)
        self.db = Database(self.infra.pool)
        self.access = AccessControl(self.db, self.policy)
        self.keys = KeyService(self.db, self.keyring, self.access)
        self.notifier = NotifyDebouncer(self.infra.pool, channel_for(SCHEMA), s.vault_outbox_notify_window_s)
        stack.push_async_callback(self.notifier.close)
        self.credentials = CredentialService(self.db, self.keyring, self.keys, self.access, self.notifier)
        self.signing = SigningService(self.db, self.keyring, self.access)
        self.rewrap = RewrapService(
            self.db, s.postgres_dsn, self.keyring, self.keys, self.access, s.vault_rewrap_batch_size
        )
        stack.push_async_callback(self.rewrap.stop)
        await self.keys.sync()
        log.info(
            "vault keyring loaded",
            extra={
                "origin": self.keyring.origin,
                "primary_version": self.keyring.current().keyring.primary_version,
            },
        )

    def readiness(self) -> list[ReadinessCheck]:
        async def keyring_ok() -> bool:
            return self.keyring.current().keyring.primary is not None

        return [*self.infra.readiness(), ReadinessCheck("keyring", keyring_ok)]
