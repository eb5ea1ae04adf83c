"""Providers' rate-limit signals, parsed from response headers (pure; ``now`` is passed in).

Understood (docs/architecture.md §9):

==========  ==================================================  ==============================
provider    headers                                             reset given as
==========  ==================================================  ==============================
GitHub      ``x-ratelimit-{limit,remaining,used,reset}``,        epoch seconds
            ``x-ratelimit-resource``
Atlassian   ``x-ratelimit-{limit,remaining,reset}``              ISO 8601 timestamp
GitLab      ``ratelimit-{limit,remaining,reset}``                epoch seconds
Linear      ``x-ratelimit-{requests,complexity}-{limit,...}``    epoch milliseconds
OpenAI      ``x-ratelimit-{limit,remaining,reset}-{requests,     durations: ``6m0s``, ``12ms``
            tokens}``
Anthropic   ``anthropic-ratelimit-<kind>-{limit,remaining,       RFC 3339 timestamp
            reset}``
IETF draft  ``ratelimit: "default";r=50;t=30``                   delta seconds
any         ``retry-after``                                      seconds or an HTTP date
==========  ==================================================  ==============================

Reset values are recognised by shape, not by provider: a number above 1e12 is epoch ms, above
1e9 epoch seconds, else seconds from now; text is a duration, an ISO 8601/RFC 3339 timestamp or an
HTTP date. Anything unparseable is ignored rather than guessed.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_X_PLAIN = re.compile(r"^x-ratelimit-(limit|remaining|reset|used)$")
_X_SUFFIX = re.compile(r"^x-ratelimit-(limit|remaining|reset)-([a-z0-9_-]+)$")  # OpenAI
_X_INFIX = re.compile(r"^x-ratelimit-([a-z0-9_-]+)-(limit|remaining|reset)$")  # Linear
_ANTHROPIC = re.compile(r"^anthropic-ratelimit-([a-z0-9_-]+)-(limit|remaining|reset)$")
_DRAFT03 = re.compile(r"^ratelimit-(limit|remaining|reset)$")  # GitLab, older IETF drafts
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|us|µs|ns|h|m|s))+$")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}

# GitHub's separately budgeted resources and the paths that spend them; any other exhausted
# budget blocks the whole connection.
GITHUB_RESOURCE_PATHS = {"search": "/search/", "code_search": "/search/code", "graphql": "/graphql"}
# Connectors whose provider budgets each API method apart (Slack's tiers: a 429 on
# chat.postMessage says nothing about conversations.list): their Retry-After and bare-429 blocks
# cover only the path of the call that met them.
PER_METHOD_LIMITS = frozenset({"slack", "slack_bot"})


@dataclass(frozen=True, slots=True)
class ProviderLimit:
    api_name: str
    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None  # epoch seconds


@dataclass(frozen=True, slots=True)
class ProviderSignals:
    limits: tuple[ProviderLimit, ...] = ()
    retry_after_s: float | None = None

    @property
    def lowest_remaining(self) -> int | None:
        values = [lim.remaining for lim in self.limits if lim.remaining is not None]
        return min(values) if values else None


@dataclass(frozen=True, slots=True)
class Block:
    """Answer 429 locally for this connection until ``until`` (epoch s)."""

    until: float
    scope: str
    path_prefix: str | None = None  # None: every path of the connection

    def covers(self, provider_path: str) -> bool:
        return self.path_prefix is None or provider_path.startswith(self.path_prefix)


@dataclass
class _Partial:
    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None
    fields: set[str] = field(default_factory=set)


# Counts are stored in 32-bit columns; resets further than this from now are nobody's real
# window (GitHub's is an hour, monthly quotas a month) and would not even fit a datetime.
MAX_COUNT = 2**31 - 1
MAX_RESET_DISTANCE_S = 366 * 86400.0


def parse_int(value: str) -> int | None:
    try:
        number = int(float(value.strip()))
    except (ValueError, OverflowError):
        return None
    return min(max(number, 0), MAX_COUNT)  # overdrawn reads as exhausted


def _plausible(at: float | None, now: float) -> float | None:
    return at if at is not None and abs(at - now) <= MAX_RESET_DISTANCE_S else None


def parse_duration(text: str) -> float | None:
    """Go-style durations as OpenAI sends them: ``6m0s``, ``12ms``, ``1h2m3.5s``."""
    text = text.strip().lower()
    if not text or not _DURATION.match(text):
        return None
    return sum(float(n) * _UNIT_S[unit] for n, unit in _DURATION_PART.findall(text))


def parse_timestamp(text: str) -> float | None:
    """ISO 8601 / RFC 3339 (``Z`` or an offset; naive = UTC) or an HTTP date → epoch seconds."""
    text = text.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def parse_reset(value: str, now: float) -> float | None:
    """Any reset notation → epoch seconds; None when unreadable or implausibly far away."""
    return _plausible(_parse_reset(value, now), now)


def _parse_reset(value: str, now: float) -> float | None:
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        if number != number or number < 0:  # NaN or negative
            return None
        if number > 1e12:
            return number / 1000.0
        if number > 1e9:
            return number
        return now + number
    duration = parse_duration(text)
    if duration is not None:
        return now + duration
    return parse_timestamp(text)


def parse_retry_after(value: str, now: float) -> float | None:
    """``Retry-After``: delta seconds or an HTTP date → seconds to wait (never negative)."""
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        at = parse_timestamp(text)
        if at is None or at - now > MAX_RESET_DISTANCE_S:
            return None
        return max(0.0, at - now)  # a date already past: retry now
    if seconds != seconds or not 0 <= seconds <= MAX_RESET_DISTANCE_S:
        return None
    return seconds


def _structured(value: str) -> dict[str, str]:
    """``"default";r=50;t=30`` (IETF draft-08+ ``RateLimit``) → {"r": "50", "t": "30"}."""
    params: dict[str, str] = {}
    first = value.split(",")[0]
    for item in first.split(";")[1:]:
        name, _, val = item.strip().partition("=")
        if name:
            params[name.strip().lower()] = val.strip().strip('"')
    return params


def _set(partial: _Partial, kind: str, value: str, now: float) -> None:
    if kind == "limit":
        partial.limit = parse_int(value)
    elif kind == "remaining":
        remaining = parse_int(value)
        partial.remaining = None if remaining is None else max(0, remaining)
    elif kind == "reset":
        partial.reset_at = parse_reset(value, now)
    partial.fields.add(kind)


_RULES: dict[str, tuple[str, str] | None] = {}


def _classify(name: str) -> tuple[str, str] | None:
    if "ratelimit" not in name and name != "retry-after":
        return None
    if name == "retry-after":
        return "", "retry-after"
    if name == "x-ratelimit-resource":
        return "", "resource"
    if m := _X_PLAIN.match(name):
        return "\0plain", m.group(1)
    if m := _X_SUFFIX.match(name):
        return m.group(2), m.group(1)
    if (m := _X_INFIX.match(name)) or (m := _ANTHROPIC.match(name)):
        return m.group(1), m.group(2)
    if m := _DRAFT03.match(name):
        return "\0draft", m.group(1)
    if name == "ratelimit":
        return "\0draft", "structured"
    if name == "ratelimit-policy":
        return "\0draft", "policy"
    return None


def _rule(raw_name: str) -> tuple[str, str] | None:
    """Header name → (budget group, field); memoised: providers repeat the same few names."""
    try:
        return _RULES[raw_name]
    except KeyError:
        rule = _classify(raw_name.lower())
        if len(_RULES) < 4096:
            _RULES[raw_name] = rule
        return rule


def parse(headers: Iterable[tuple[str, str]] | Mapping[str, str], now: float) -> ProviderSignals:
    """Every rate-limit signal in ``headers`` (names in any case)."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    groups: dict[str, _Partial] = {}
    resource: str | None = None
    retry_after: float | None = None
    for raw_name, value in items:
        rule = _rule(raw_name)
        if rule is None:
            continue
        group, kind = rule
        if kind == "retry-after":
            retry_after = parse_retry_after(value, now)
        elif kind == "resource":
            resource = value.strip().lower() or None
        elif kind == "structured":
            params = _structured(value)
            partial = groups.setdefault(group, _Partial())
            if "r" in params:
                _set(partial, "remaining", params["r"], now)
            if "t" in params:
                _set(partial, "reset", params["t"], now)
        elif kind == "policy":
            params = _structured(value)
            if "q" in params:
                _set(groups.setdefault(group, _Partial()), "limit", params["q"], now)
        elif kind != "used":
            _set(groups.setdefault(group, _Partial()), kind, value, now)
    limits = []
    for key, partial in groups.items():
        if key == "\0plain":
            api_name = resource or "default"
        elif key == "\0draft":
            api_name = "default"
        else:
            api_name = key
        limits.append(ProviderLimit(api_name, partial.limit, partial.remaining, partial.reset_at))
    return ProviderSignals(tuple(sorted(limits, key=lambda lim: lim.api_name)), retry_after)


def blocks_for(
    signals: ProviderSignals,
    status: int,
    now: float,
    *,
    default_backoff_s: float,
    max_block_s: float,
    method_path: str | None = None,
) -> list[Block]:
    """When the provider's budget is spent: answer locally until its reset, don't spend a call.

    * a budget with ``remaining == 0`` and a future reset blocks until that reset (GitHub's
      search/graphql budgets block only their paths);
    * a 429/503/529 (or GitHub's secondary-limit 403) with ``Retry-After`` blocks for that long;
    * a 429 with no usable signal blocks for ``default_backoff_s``.
    Every block is capped at ``max_block_s`` (a provider clock far off must not lock us out).
    With ``method_path`` (a provider that limits per method, ``PER_METHOD_LIMITS``), the last two
    block only that path, each method under its own scope.
    """
    cap = now + max_block_s
    blocks: list[Block] = []
    for lim in signals.limits:
        if lim.remaining == 0 and lim.reset_at is not None and lim.reset_at > now:
            blocks.append(
                Block(min(lim.reset_at, cap), lim.api_name, GITHUB_RESOURCE_PATHS.get(lim.api_name))
            )
    suffix = f":{method_path}" if method_path else ""
    if signals.retry_after_s is not None and status in (403, 429, 503, 529) and signals.retry_after_s > 0:
        blocks.append(Block(min(now + signals.retry_after_s, cap), "retry-after" + suffix, method_path))
    if status == 429 and not blocks and default_backoff_s > 0:
        blocks.append(Block(min(now + default_backoff_s, cap), "429" + suffix, method_path))
    return blocks


class SignalKind(enum.Enum):
    """What a response header says about rate limits, by its name alone (the hot path's sieve:
    most answers carry none, and only some need :func:`parse`)."""

    NONE = 0  # not a rate-limit header
    REMAINING = 1  # a remaining count (``*ratelimit*remaining*``)
    OTHER = 2  # another rate-limit header (limit, reset, policy, resource, ...)
    URGENT = 3  # ``Retry-After`` or the structured ``RateLimit`` field: always parsed in full


# Answers whose signals can change a decision whatever their headers say.
URGENT_STATUSES = frozenset({403, 429, 503, 529})
_KINDS: dict[bytes, SignalKind] = {}  # raw header name → its kind (providers use few names)


def signal_kind(name: bytes) -> SignalKind:
    kind = _KINDS.get(name)
    if kind is not None:
        return kind
    lower = name.lower()
    if b"ratelimit" in lower:
        if b"remaining" in lower:
            kind = SignalKind.REMAINING
        else:
            kind = SignalKind.URGENT if lower == b"ratelimit" else SignalKind.OTHER
    else:
        kind = SignalKind.URGENT if lower == b"retry-after" else SignalKind.NONE
    if len(_KINDS) < 4096:
        _KINDS[name] = kind
    return kind


def scan(
    raw_headers: Iterable[tuple[bytes, bytes]], status: int
) -> tuple[list[tuple[bytes, bytes]], int | None, bool]:
    """One pass over an answer's headers → (its rate-limit headers, the lowest remaining count,
    whether it must be parsed in full now: a spent budget, a ``Retry-After``, a 403/429/503/529)."""
    relevant: list[tuple[bytes, bytes]] = []
    urgent = status in URGENT_STATUSES
    remaining: int | None = None
    kinds = _KINDS
    for name, value in raw_headers:
        kind = kinds.get(name)
        if kind is None:
            kind = signal_kind(name)
        if kind is SignalKind.NONE:
            continue
        relevant.append((name, value))
        if kind is SignalKind.REMAINING:
            try:
                count = int(value)
            except ValueError:
                continue
            remaining = count if remaining is None else min(remaining, count)
            urgent = urgent or count <= 0
        elif kind is SignalKind.URGENT:
            urgent = True  # Retry-After, or the structured RateLimit field only a full parse reads
    return relevant, remaining, urgent
