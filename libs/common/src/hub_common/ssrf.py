"""SSRF checks for outbound URLs the hub did not choose itself (base-URL overrides, OAuth
endpoints of custom connectors, webhook subscriber endpoints).

A URL passes when its host is on the operator's allow-list, or when every address it resolves
to is public: private, loopback, link-local, multicast, reserved and unspecified ranges are
refused (IPv4-mapped IPv6 included). ``HUB_OUTBOUND_ALLOWLIST`` entries are host names
(``*.example.com`` for subdomains), ``host:port``, IP addresses or CIDR ranges.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from hub_common.errors import BadRequest
from hub_connector_sdk.hosts import matches_pattern_or_apex

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UrlNotAllowed(BadRequest):
    code = "url_not_allowed"


class HostUnresolvable(UrlNotAllowed):
    """No address to judge: not an attack, but nothing can be called there either."""

    code = "host_unresolvable"


def _normalise(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address a 6to4 (2002::/16) or Teredo (2001::/32) address carries: a relay
    delivers to it, so it is what must be public."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # (server, client): the client is where traffic goes
    return None


def is_public(ip: IPAddress) -> bool:
    ip = _normalise(ip)
    embedded = _embedded_ipv4(ip)
    if embedded is not None and not is_public(embedded):
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def allow_listed(host: str, port: int, addresses: Iterable[IPAddress], allowlist: Sequence[str]) -> bool:
    """True when the operator's allow-list names this host (``*.domain`` includes the domain
    itself: :func:`hub_connector_sdk.hosts.matches_pattern_or_apex`; ``port`` is the effective
    port), or its networks cover
    EVERY address the host resolves to. One covered address is not enough: a name the attacker
    controls could resolve to [169.254.169.254, <allowed 10.x>], and the first is dialled."""
    networks = []
    for entry in allowlist:
        entry = entry.strip().lower()
        if not entry:
            continue
        if matches_pattern_or_apex(host, port, entry):
            return True
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    resolved = [_normalise(a) for a in addresses]
    return bool(networks and resolved) and all(any(a in n for n in networks) for a in resolved)


def _split(url: str, allow_http: bool) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not allow_http):
        raise UrlNotAllowed(f"only https URLs are allowed, got {parts.scheme or 'no'} scheme")
    if parts.username or parts.password:
        raise UrlNotAllowed("URLs with credentials are not allowed")
    if not parts.hostname:
        raise UrlNotAllowed("URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UrlNotAllowed("URL has an invalid port") from None
    return parts.hostname.lower().rstrip("."), port


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _verdict(url: str, host: str, port: int, addresses: list[IPAddress], allowlist: Sequence[str]) -> str:
    if allow_listed(host, port, addresses, allowlist):
        return url
    if not addresses:
        raise HostUnresolvable(f"host {host} does not resolve")
    blocked = [a for a in addresses if not is_public(a)]
    if blocked:
        raise UrlNotAllowed(
            f"host {host} resolves to a non-public address ({blocked[0]}); "
            "an operator can allow it with HUB_OUTBOUND_ALLOWLIST",
            details={"host": host},
        )
    return url


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (itself when it is a literal); [] when it does not."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []  # UnicodeError: an empty label or one over 63 characters (IDNA), never a host
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


async def checked_addresses(host: str, port: int, *, allowlist: Sequence[str] = ()) -> list[IPAddress]:
    """``host``'s addresses if the policy lets them be called, else :class:`UrlNotAllowed`.

    For the moment of connecting (``hub_common.ssrf_http``): the addresses returned are the ones
    judged, so a name that resolves differently a second time (DNS rebinding) changes nothing."""
    host = host.lower().rstrip(".")
    addresses = await resolve(host, port)
    _verdict(host, host, port, addresses, allowlist)
    return addresses


async def check_url(url: str, *, allowlist: Sequence[str] = (), allow_http: bool = False) -> str:
    """Return ``url`` if it may be called, else raise :class:`UrlNotAllowed` (400)."""
    host, port = _split(url, allow_http or bool(allowlist))
    addresses = await resolve(host, port)
    if (
        urlsplit(url).scheme == "http"
        and not allow_listed(host, port, addresses, allowlist)
        and not allow_http
    ):
        raise UrlNotAllowed("only https URLs are allowed")
    return _verdict(url, host, port, addresses, allowlist)
