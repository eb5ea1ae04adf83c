"""Landlock for a plugin worker process: what its code may read, and where it may connect.

Applied by the worker to itself (``landlock_restrict_self``, after ``PR_SET_NO_NEW_PRIVS``), before
it imports the plugin, and inherited by anything it starts; it cannot be lifted. What stays:

* read (and execute) beneath the Python installation and the import path the service itself
  uses (site-packages, the stdlib, editable sources, ``PYTHONPATH`` plugin folders), plus the
  few system files name resolution and TLS read; ``/dev/null`` and ``/dev/urandom``;
* TCP ``connect`` to the gateway's port only (Landlock ABI >= 4): not Postgres, Redis, Kafka,
  the vault or any other service on this host or elsewhere; no TCP ``bind``;
* signals and abstract UNIX sockets only within its own domain (ABI >= 6): it cannot kill or
  talk to the connectors service.

Everything else is refused by the kernel (``EACCES``): the stack's key and data folders, other
processes' ``/proc/<pid>/environ``, the service's working directory, writes anywhere. Needs Linux
5.13+ with Landlock enabled; ``available()`` tells. Raw syscalls through ctypes (Python has no
binding); the numbers are the same on every architecture (they were added after the unification).
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterable
from dataclasses import dataclass

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
_PR_SET_NO_NEW_PRIVS = 38

# Filesystem rights, by the ABI that introduced them.
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_ABI1 = (1 << 13) - 1  # execute .. make_sym
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1

READ_ONLY = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
# System files a Python process reads to resolve names and verify TLS (never /etc/ssl/private).
SYSTEM_READS = (
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
    "/etc/host.conf",
    "/etc/services",
    "/etc/protocols",
    "/etc/localtime",
    "/etc/ssl/certs",
    "/etc/ssl/openssl.cnf",
    "/etc/pki/tls/certs",
    "/etc/ca-certificates",
    "/usr/share/ca-certificates",
    "/usr/share/zoneinfo",
    "/usr/lib/ssl",
)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _NetPortAttr(ctypes.Structure):
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


class SandboxError(Exception):
    pass


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def abi_version() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is missing or disabled."""
    try:
        version = _libc().syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    except (OSError, AttributeError):
        return 0
    return max(0, int(version))


def available() -> bool:
    return abi_version() >= 1


@dataclass(frozen=True)
class Policy:
    read_paths: tuple[str, ...]
    connect_ports: tuple[int, ...]


def _handled_fs(abi: int) -> int:
    rights = _FS_ABI1
    if abi >= 2:
        rights |= _FS_REFER
    if abi >= 3:
        rights |= _FS_TRUNCATE
    if abi >= 5:
        rights |= _FS_IOCTL_DEV
    return rights


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise SandboxError(f"{what} failed: {os.strerror(err)}")
    return result


def apply(policy: Policy) -> int:
    """Restrict this process (and its future children) to ``policy``; returns the ABI used."""
    abi = abi_version()
    if abi < 1:
        raise SandboxError("Landlock is not available in this kernel")
    libc = _libc()
    handled_fs = _handled_fs(abi)
    attr = _RulesetAttr(handled_fs, _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0, 0)
    if abi >= 6:
        attr.scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = _check(
        libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0), "ruleset"
    )
    try:
        for path, rights in _path_rules(policy.read_paths):
            _add_path(libc, ruleset, path, rights & handled_fs)
        if abi >= 4:
            for port in policy.connect_ports:
                rule = _NetPortAttr(_NET_CONNECT_TCP, port)
                _check(
                    libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_NET_PORT, ctypes.byref(rule), 0), "net rule"
                )
        _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        _check(libc.syscall(_SYS_RESTRICT_SELF, ruleset, 0), "restrict_self")
    finally:
        os.close(ruleset)
    return abi


def _path_rules(read_paths: Iterable[str]) -> list[tuple[str, int]]:
    rules: list[tuple[str, int]] = [
        ("/dev/null", _FS_READ_FILE | _FS_WRITE_FILE),
        ("/dev/urandom", _FS_READ_FILE),
    ]
    for path in dict.fromkeys([*read_paths, *SYSTEM_READS]):
        if os.path.exists(path):
            rules.append((path, READ_ONLY))
    return rules


def _add_path(libc: ctypes.CDLL, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # gone meanwhile: nothing to allow
    try:
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS
        rule = _PathBeneathAttr(rights, fd)
        _check(
            libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0), f"rule {path}"
        )
    finally:
        os.close(fd)
