"""Where the keyring comes from, and keeping it current.

Order: ``HUB_VAULT_KEYRING`` (inline or base64; read-only), else ``HUB_VAULT_KEYRING_FILE``,
else — in dev/test only — ``.stack/vault/keyring.json`` under the working directory, created on
first start. The file is re-read when its mtime/size/inode changes (checked at most every
``reload_interval_s``), so a rotation written by one replica, or a Kubernetes Secret update,
reaches every replica without a restart. A file that fails to parse keeps the last good keyring,
and so does one whose key for a known version is not the one the database recorded (the check
startup makes): a version never changes its key.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from hub_common.errors import ConfigurationError
from hub_vault.domain.crypto import KekCipher
from hub_vault.domain.errors import KeyringMismatch, KeyringReadOnly
from hub_vault.domain.keyring import (
    Keyring,
    KeyringError,
    dump_keyring_json,
    dump_keyring_toml,
    mismatched_versions,
    new_keyring,
    parse_keyring,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedKeyring:
    """A keyring plus one ready AES-GCM cipher per version (built once per load)."""

    keyring: Keyring
    ciphers: dict[int, KekCipher]

    @classmethod
    def of(cls, keyring: Keyring) -> LoadedKeyring:
        return cls(keyring, {v: KekCipher(k) for v, k in keyring.versions.items()})

    @property
    def primary(self) -> KekCipher:
        return self.ciphers[self.keyring.primary_version]


class KeyringSource:
    """Holds the current keyring; ``current()`` is cheap enough for every request."""

    def __init__(
        self,
        loaded: LoadedKeyring,
        *,
        path: Path | None,
        origin: str,
        reload_interval_s: float = 1.0,
        signature: tuple[int, int, int] | None = None,
    ) -> None:
        self._loaded = loaded
        self.path = path
        self.origin = origin
        self.reload_interval_s = reload_interval_s
        # The file's signature from BEFORE it was read (from_settings): a rotation by another
        # replica between the read and a later stat would otherwise never be reloaded.
        self._signature = signature if signature is not None else (_file_signature(path) if path else None)
        self._next_check = time.monotonic() + reload_interval_s
        self._recorded: dict[int, str] = {}  # the database's key check per version (record)

    @property
    def writable(self) -> bool:
        return (
            self.path is not None
            and os.access(self.path.parent, os.W_OK)
            and (not self.path.exists() or os.access(self.path, os.W_OK))
        )

    def record(self, key_checks: Mapping[int, str]) -> None:
        """The key checks the database holds (KeyService, after registering): reloads must match."""
        self._recorded = {**self._recorded, **key_checks}

    def _foreign(self, keyring: Keyring) -> dict[int, str]:
        """The known key checks ``keyring`` does not match: the database's, and those of the keys
        in use (a version registered by another replica may not be recorded here yet)."""
        in_use = {v: k.key_check for v, k in self._loaded.keyring.versions.items()}
        known = {**in_use, **self._recorded}
        return {v: known[v] for v in mismatched_versions(keyring, known)}

    def current(self) -> LoadedKeyring:
        if self.path is not None and time.monotonic() >= self._next_check:
            self.refresh()
        return self._loaded

    def refresh(self, force: bool = False) -> LoadedKeyring:
        """Re-read the file if it changed (or always, with ``force``)."""
        if self.path is None:
            return self._loaded
        self._next_check = time.monotonic() + self.reload_interval_s
        signature = _file_signature(self.path)
        if signature == self._signature and not force:
            return self._loaded
        try:
            keyring = self.read_file()
        except (OSError, ValueError, KeyringError) as exc:  # ValueError: not UTF-8
            # A decode error's text quotes a byte of the file: only the keyring's own messages,
            # which never hold material, are logged in full.
            reason = str(exc) if isinstance(exc, KeyringError) else type(exc).__name__
            log.error(
                "keyring reload failed; keeping the previous keyring",
                extra={"path": str(self.path), "reason": reason},
            )
            return self._loaded
        foreign = self._foreign(keyring)
        if foreign:
            # The signature is not taken, so the file is read (and checked) again next time.
            log.error(
                "keyring reload refused: its key for a known version is not the one this database "
                "was encrypted with; keeping the previous keyring",
                extra={"path": str(self.path), "key_versions": sorted(foreign)},
            )
            return self._loaded
        self._signature = signature
        if keyring != self._loaded.keyring:
            self._loaded = LoadedKeyring.of(keyring)
            log.info(
                "keyring reloaded",
                extra={
                    "path": str(self.path),
                    "primary_version": keyring.primary_version,
                    "versions": sorted(keyring.versions),
                },
            )
        return self._loaded

    def read_file(self) -> Keyring:
        """The file's keyring, read now and not adopted; raises when it cannot be read or parsed
        (``refresh`` keeps the previous keyring instead, which cannot tell the two apart)."""
        if self.path is None:
            return self._loaded.keyring
        return parse_keyring(self.path.read_text("utf-8"))

    def update(self, change: Callable[[Keyring], Keyring]) -> LoadedKeyring:
        """Apply ``change`` to the file's current content under an exclusive lock, atomically."""
        if self.path is None or not self.writable:
            raise KeyringReadOnly
        with _locked(self.path):
            keyring = self.read_file()
            foreign = self._foreign(keyring)
            if foreign:  # never rotate (or retire) on top of a key the database does not know
                raise KeyringMismatch(foreign)
            write_keyring_file(self.path, change(keyring))
        return self.refresh(force=True)


def _file_signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()  # follows symlinks: Kubernetes swaps the ..data link on update
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def write_keyring_file(path: Path, keyring: Keyring) -> None:
    """Write atomically (temp file + rename) with mode 0600; TOML if the name ends in .toml."""
    text = dump_keyring_toml(keyring) if path.suffix == ".toml" else dump_keyring_json(keyring)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".keyring-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _load_file(path: Path) -> Keyring:
    try:
        mode = path.stat().st_mode
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read the vault keyring file {path}: {exc.strerror}") from None
    except ValueError:  # not UTF-8; the decode error's text would quote a byte of it
        raise ConfigurationError(f"the vault keyring file {path} is not UTF-8 JSON") from None
    if stat.S_IMODE(mode) & 0o077:
        log.warning("the keyring file is readable by group/others; chmod 600 it", extra={"path": str(path)})
    try:
        return parse_keyring(text)
    except KeyringError as exc:
        raise ConfigurationError(f"invalid vault keyring file {path}: {exc}") from None


def open_keyring_source(
    *, inline: str | None, file: Path | None, dev_mode: bool, dev_path: Path, reload_interval_s: float
) -> KeyringSource:
    if inline:
        try:
            keyring = parse_keyring(inline)
        except KeyringError as exc:
            raise ConfigurationError(f"invalid HUB_VAULT_KEYRING: {exc}") from None
        return KeyringSource(LoadedKeyring.of(keyring), path=None, origin="HUB_VAULT_KEYRING")
    if file is not None:
        signature = _file_signature(file)
        return KeyringSource(
            LoadedKeyring.of(_load_file(file)),
            path=file,
            origin=str(file),
            reload_interval_s=reload_interval_s,
            signature=signature,
        )
    if not dev_mode:
        raise ConfigurationError(
            "no vault keyring configured: set HUB_VAULT_KEYRING_FILE (a mounted secret) or "
            "HUB_VAULT_KEYRING; see services/vault/README.md"
        )
    path = dev_path if dev_path.is_absolute() else Path.cwd() / dev_path
    with _locked_dir_create(path):
        if not path.exists():
            write_keyring_file(path, new_keyring())
            log.warning(
                "created a development keyring; never use it in production", extra={"path": str(path)}
            )
    signature = _file_signature(path)
    return KeyringSource(
        LoadedKeyring.of(_load_file(path)),
        path=path,
        origin=str(path),
        reload_interval_s=reload_interval_s,
        signature=signature,
    )


@contextlib.contextmanager
def _locked_dir_create(path: Path) -> Iterator[None]:
    # Two processes starting at once must not each create a different dev keyring.
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(path):
        yield
