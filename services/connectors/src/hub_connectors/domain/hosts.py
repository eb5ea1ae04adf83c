"""Which hosts a connection may reach: those its manifest declares in ``api.allowed_hosts``.

Host patterns are read by ``hub_connector_sdk.hosts`` (one rule for the whole hub). Two gates
complete this one: a base URL a connection chooses (an override, or a template filled
from its config) also passes the hub's SSRF check (``hub_common.ssrf``: no private, loopback or
link-local targets unless ``HUB_OUTBOUND_ALLOWLIST`` names them) when it is created, and the
gateway enforces the declared hosts on every request (DNS can change).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from hub_common.errors import Unprocessable
from hub_common.ssrf import IPAddress, allow_listed, is_public
from hub_connector_sdk.hosts import matches_pattern


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


def is_internal(host: str) -> bool:
    """Literally internal: localhost names and non-public IP literals (no DNS lookup)."""
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    literal = _ip_literal(host)
    return literal is not None and not is_public(literal)


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


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
    if not any(matches_pattern(host, port, p) for p in allowed):
        raise HostNotAllowed(
            f"host {host} is not among the hosts this connector declares",
            details={"host": host, "allowed_hosts": allowed},
        )
    return url


def check_not_internal(url: str, operator_allowlist: Iterable[str]) -> str:
    """The operator's allow-list as ``hub_common.ssrf`` reads it everywhere else: ``*.domain``
    includes the domain, ports are effective ports, CIDR ranges cover IP literals."""
    host, port = host_of(url)
    effective_port = port or (443 if urlsplit(url).scheme == "https" else 80)
    literal = _ip_literal(host)
    addresses = [literal] if literal is not None else []
    if is_internal(host) and not allow_listed(host, effective_port, addresses, list(operator_allowlist)):
        raise HostNotAllowed(
            f"host {host} is an internal address; an operator must allow-list it (HUB_OUTBOUND_ALLOWLIST)",
            details={"host": host},
        )
    return url
