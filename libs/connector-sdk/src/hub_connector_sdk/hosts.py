"""Host patterns: the one place that says which hosts a pattern names.

A pattern is ``host``, ``*.domain`` or either with ``:port`` (IPv6 literals bare, ``::1``, or
bracketed with a port, ``[::1]:8443``). Two meanings of ``*.domain`` are in use, each with its
own function (docs/adr/0028-one-way-per-concern.md):

- :func:`matches_pattern` — ``*.example.com`` names the subdomains only, as a TLS wildcard does.
  A connector's declared hosts (manifest ``api.allowed_hosts``) mean this: the connectors
  service checks base URLs with it, the gateway every request, the test kit every manifest.
- :func:`matches_pattern_or_apex` — ``*.example.com`` names ``example.com`` too. The operator's
  ``HUB_OUTBOUND_ALLOWLIST`` means this (README, configuration); ``hub_common.ssrf`` adds its
  network entries (CIDR ranges) on top.

Ports: a pattern without a port admits any port; a pattern with one admits exactly the port the
caller passes. Callers say which port that is: the URL's port as written (``None`` when it has
none) for declared hosts, the effective port (scheme default filled in) for the allow-list.
Hosts are compared case-insensitively and without a trailing dot.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "HostPattern",
    "is_domain_or_subdomain_of",
    "is_subdomain_of",
    "matches_pattern",
    "matches_pattern_or_apex",
    "normalise_host",
    "parse_pattern",
]


@dataclass(frozen=True, slots=True)
class HostPattern:
    host: str  # for a wildcard, the domain after ``*.``
    wildcard: bool
    port: int | None  # None: any port


def normalise_host(host: str) -> str:
    return host.strip().lower().rstrip(".").removeprefix("[").removesuffix("]")


def parse_pattern(pattern: str) -> HostPattern | None:
    """The pattern's parts, or None when it names no host (empty, or a port that is not a number)."""
    text = pattern.strip().lower()
    port: int | None = None
    if text.startswith("["):  # [v6] or [v6]:port
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                return None
            port = int(rest[1:])
    elif text.count(":") == 1:  # host:port (more than one colon: a bare IPv6 literal)
        host, _, port_text = text.partition(":")
        if not port_text.isdigit():
            return None
        port = int(port_text)
    else:
        host = text
    wildcard = host.startswith("*.")
    host = normalise_host(host[2:] if wildcard else host)
    if not host:
        return None
    return HostPattern(host=host, wildcard=wildcard, port=port)


def is_subdomain_of(host: str, domain: str) -> bool:
    """``a.example.com`` and ``a.b.example.com`` are subdomains of ``example.com``; it is not its own."""
    return normalise_host(host).endswith("." + normalise_host(domain))


def is_domain_or_subdomain_of(host: str, domain: str) -> bool:
    return normalise_host(host) == normalise_host(domain) or is_subdomain_of(host, domain)


def _port_admitted(pattern: HostPattern, port: int | None) -> bool:
    return pattern.port is None or pattern.port == port


def matches_pattern(host: str, port: int | None, pattern: str) -> bool:
    """Declared-host semantics: exact host, or ``*.domain`` = strictly below ``domain``."""
    return _matches(host, port, pattern, apex=False)


def matches_pattern_or_apex(host: str, port: int | None, pattern: str) -> bool:
    """Allow-list semantics: exact host, or ``*.domain`` = ``domain`` and everything below it."""
    return _matches(host, port, pattern, apex=True)


def _matches(host: str, port: int | None, pattern: str, *, apex: bool) -> bool:
    parsed = parse_pattern(pattern)
    if parsed is None or not _port_admitted(parsed, port):
        return False
    if parsed.wildcard:
        return (is_domain_or_subdomain_of if apex else is_subdomain_of)(host, parsed.host)
    return normalise_host(host) == parsed.host
