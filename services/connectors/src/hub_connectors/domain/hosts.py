"""Which hosts a connection may reach: those its manifest declares in ``api.allowed_hosts``.

Two gates complete this one: a base URL a connection chooses (an override, or a template filled
from its config) also passes the hub's SSRF check (``hub_common.ssrf``: no private, loopback or
link-local targets unless ``HUB_OUTBOUND_ALLOWLIST`` names them) when it is created, and the
gateway enforces the declared hosts on every request (DNS can change).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from hub_common.errors import Unprocessable
from hub_common.ssrf import is_public


class HostNotAllowed(Unprocessable):
    code = "host_not_allowed"


def host_of(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HostNotAllowed("base URL must be an absolute http(s) URL", details={"url_scheme": parts.scheme})
    if parts.username or parts.password:
        raise HostNotAllowed("base URL must not carry credentials")
    try:
        port = parts.port
    except ValueError:
        raise HostNotAllowed("base URL has an invalid port") from None
    return parts.hostname.lower().rstrip("."), port


def matches(host: str, port: int | None, pattern: str) -> bool:
    """``api.example.com``, ``*.example.com`` (subdomains only) and optional ``:port``."""
    pat_host, _, pat_port = pattern.lower().partition(":")
    if pat_port and str(port) != pat_port:
        return False
    if pat_host.startswith("*."):
        return host.endswith(pat_host[1:]) and host != pat_host[2:]
    return host == pat_host


def is_internal(host: str) -> bool:
    """Literally internal: localhost names and non-public IP literals (no DNS lookup)."""
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return not is_public(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return False


def effective_allowed_hosts(default_base_url: str, allowed_hosts: Iterable[str]) -> list[str]:
    """The manifest's list, or the default base URL's host when the manifest names none."""
    hosts = list(allowed_hosts)
    if hosts:
        return hosts
    host, port = host_of(default_base_url)
    return [f"{host}:{port}" if port else host]


def check_declared(url: str, allowed: Iterable[str]) -> str:
    host, port = host_of(url)
    allowed = list(allowed)
    if not any(matches(host, port, p) for p in allowed):
        raise HostNotAllowed(
            f"host {host} is not among the hosts this connector declares",
            details={"host": host, "allowed_hosts": allowed},
        )
    return url


def check_not_internal(url: str, operator_allowlist: Iterable[str]) -> str:
    host, port = host_of(url)
    if is_internal(host) and not any(matches(host, port, p) for p in operator_allowlist):
        raise HostNotAllowed(
            f"host {host} is an internal address; an operator must allow-list it (HUB_OUTBOUND_ALLOWLIST)",
            details={"host": host},
        )
    return url
