from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub_gateway.domain import provider_limits
from hub_gateway.domain.provider_limits import (
    Block,
    ProviderLimit,
    blocks_for,
    parse,
    parse_duration,
    parse_reset,
    parse_retry_after,
)

pytestmark = pytest.mark.unit
NOW = 1_800_000_000.0


def one(headers, api_name=None):
    limits = parse(headers, NOW).limits
    return limits if api_name is None else next(lim for lim in limits if lim.api_name == api_name)


def test_github():
    lim = one(
        {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": "4999",
            "X-RateLimit-Used": "1",
            "X-RateLimit-Reset": "1800000600",
            "X-RateLimit-Resource": "core",
        },
        "core",
    )
    assert lim == ProviderLimit("core", 5000, 4999, 1_800_000_600.0)


def test_gitlab():
    lim = one(
        {
            "RateLimit-Limit": "600",
            "RateLimit-Observed": "3",
            "RateLimit-Remaining": "597",
            "RateLimit-Reset": "1800000060",
            "RateLimit-ResetTime": "Fri, 15 Jan 2027 08:01:00 GMT",
        },
        "default",
    )
    assert (lim.limit, lim.remaining, lim.reset_at) == (600, 597, 1_800_000_060.0)


def test_linear_epoch_ms_and_complexity():
    limits = one(
        {
            "X-RateLimit-Requests-Limit": "1500",
            "X-RateLimit-Requests-Remaining": "0",
            "X-RateLimit-Requests-Reset": "1800000030500",
            "X-RateLimit-Complexity-Limit": "250000",
            "X-RateLimit-Complexity-Remaining": "249000",
            "X-RateLimit-Complexity-Reset": "1800000030500",
        }
    )
    by = {lim.api_name: lim for lim in limits}
    assert by["requests"] == ProviderLimit("requests", 1500, 0, 1_800_000_030.5)
    assert by["complexity"].remaining == 249000


def test_openai_durations():
    limits = one(
        {
            "x-ratelimit-limit-requests": "60",
            "x-ratelimit-remaining-requests": "59",
            "x-ratelimit-reset-requests": "1s",
            "x-ratelimit-limit-tokens": "150000",
            "x-ratelimit-remaining-tokens": "0",
            "x-ratelimit-reset-tokens": "6m0s",
        }
    )
    by = {lim.api_name: lim for lim in limits}
    assert by["requests"].reset_at == pytest.approx(NOW + 1)
    assert by["tokens"] == ProviderLimit("tokens", 150000, 0, NOW + 360)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("12ms", 0.012), ("6m0s", 360), ("1h2m3.5s", 3723.5), ("59.005s", 59.005), ("0s", 0), ("20us", 2e-5)],
)
def test_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "5", "m5", "1x"])
def test_not_a_duration(text):
    assert parse_duration(text) is None


def test_anthropic_rfc3339():
    limits = one(
        {
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-requests-reset": "2027-01-15T08:00:30Z",
            "anthropic-ratelimit-input-tokens-remaining": "1000",
            "retry-after": "12",
        }
    )
    by = {lim.api_name: lim for lim in limits}
    assert by["requests"].reset_at == datetime(2027, 1, 15, 8, 0, 30, tzinfo=UTC).timestamp()
    assert by["input-tokens"].remaining == 1000
    assert parse({"retry-after": "12"}, NOW).retry_after_s == 12


def test_atlassian_iso8601():
    lim = one(
        {
            "X-RateLimit-Limit": "100",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "2027-01-15T08:00:30.000+01:00",
            "X-RateLimit-NearLimit": "true",
        },
        "default",
    )
    assert lim.reset_at == datetime(2027, 1, 15, 7, 0, 30, tzinfo=UTC).timestamp()


def test_ietf_structured_fields():
    lim = one({"RateLimit": '"default";r=0;t=30', "RateLimit-Policy": '"default";q=100;w=60'}, "default")
    assert lim == ProviderLimit("default", 100, 0, NOW + 30)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1800000100", 1_800_000_100.0),
        ("1800000100123", 1_800_000_100.123),
        ("30", NOW + 30),
        ("2027-01-15T08:00:00Z", datetime(2027, 1, 15, 8, tzinfo=UTC).timestamp()),
        ("Fri, 15 Jan 2027 08:00:00 GMT", datetime(2027, 1, 15, 8, tzinfo=UTC).timestamp()),
        ("nonsense", None),
        ("-5", None),
        ("nan", None),
        # Nobody's real window, and past what a datetime (or the snapshot table) holds.
        ("99999999999999999", None),
        ("inf", None),
        ("9999-12-31T23:59:59-14:00", None),
        ("99999999h", None),
    ],
)
def test_reset_notations(value, expected):
    assert parse_reset(value, NOW) == (pytest.approx(expected) if expected else None)


def test_retry_after_date_and_garbage():
    assert (
        parse_retry_after(
            "Fri, 15 Jan 2027 08:00:00 GMT", datetime(2027, 1, 15, 7, 59, 50, tzinfo=UTC).timestamp()
        )
        == 10
    )
    assert parse_retry_after("Fri, 15 Jan 2027 08:00:00 GMT", NOW * 2) == 0
    assert parse_retry_after("soon", NOW) is None


def test_unrelated_and_broken_headers_are_ignored():
    signals = parse({"Content-Type": "application/json", "X-RateLimit-Remaining": "lots"}, NOW)
    assert signals.limits == (ProviderLimit("default", None, None, None),)
    assert signals.lowest_remaining is None


def test_blocks():
    kw = {"default_backoff_s": 1.0, "max_block_s": 3600.0}
    exhausted = parse({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 60)}, NOW)
    assert blocks_for(exhausted, 200, NOW, **kw) == [Block(NOW + 60, "default")]
    search = parse(
        {
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int(NOW) + 60),
            "x-ratelimit-resource": "search",
        },
        NOW,
    )
    block = blocks_for(search, 200, NOW, **kw)[0]
    assert block.covers("/search/issues") and not block.covers("/repos/a/b")
    past = parse({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) - 1)}, NOW)
    assert blocks_for(past, 200, NOW, **kw) == []
    far = parse({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 86400 * 30)}, NOW)
    assert blocks_for(far, 200, NOW, **kw)[0].until == NOW + 3600  # capped
    retry = parse({"retry-after": "7"}, NOW)
    assert blocks_for(retry, 429, NOW, **kw) == [Block(NOW + 7, "retry-after")]
    assert blocks_for(retry, 403, NOW, **kw) == [Block(NOW + 7, "retry-after")]  # GitHub secondary
    assert blocks_for(retry, 200, NOW, **kw) == []
    assert blocks_for(parse({}, NOW), 429, NOW, **kw) == [Block(NOW + 1, "429")]
    plenty = parse({"x-ratelimit-remaining": "10", "x-ratelimit-reset": str(int(NOW) + 60)}, NOW)
    assert blocks_for(plenty, 200, NOW, **kw) == []


def test_a_per_method_provider_blocks_only_the_method_that_met_the_limit():
    """Slack's tiers are per method: its Retry-After (or a bare 429) blocks that method's path,
    each method under a scope of its own, so two methods' blocks never replace each other."""
    kw = {"default_backoff_s": 1.0, "max_block_s": 3600.0}
    retry = parse({"retry-after": "30"}, NOW)
    (block,) = blocks_for(retry, 429, NOW, **kw, method_path="/chat.postMessage")
    assert block == Block(NOW + 30, "retry-after:/chat.postMessage", "/chat.postMessage")
    assert block.covers("/chat.postMessage") and not block.covers("/conversations.list")
    (bare,) = blocks_for(parse({}, NOW), 429, NOW, **kw, method_path="/users.info")
    assert bare.scope == "429:/users.info" and not bare.covers("/chat.postMessage")
    (whole,) = blocks_for(retry, 429, NOW, **kw)  # any other provider: the whole connection
    assert whole.path_prefix is None and whole.covers("/conversations.list")


def test_counts_past_32_bits_are_clamped_and_overdrawn_reads_as_exhausted():
    headers = {"X-RateLimit-Limit": "99999999999", "X-RateLimit-Remaining": "-3", "X-RateLimit-Reset": "inf"}
    (lim,) = one(headers)
    assert (lim.limit, lim.remaining, lim.reset_at) == (2**31 - 1, 0, None)


def test_a_retry_after_beyond_a_year_is_ignored():
    assert parse_retry_after("999999999", NOW) is None
    assert parse_retry_after("Fri, 15 Jan 9999 08:00:00 GMT", NOW) is None


@pytest.mark.parametrize(
    ("headers", "status", "remaining", "urgent", "kept"),
    [
        ([(b"content-type", b"application/json")], 200, None, False, 0),
        ([(b"X-RateLimit-Remaining", b"10"), (b"x-ratelimit-limit", b"60")], 200, 10, False, 2),
        ([(b"x-ratelimit-remaining", b"0")], 200, 0, True, 1),  # a spent budget
        (
            [(b"x-ratelimit-remaining-requests", b"5"), (b"x-ratelimit-remaining-tokens", b"3")],
            200,
            3,
            False,
            2,
        ),
        ([(b"x-ratelimit-remaining", b"soon")], 200, None, False, 1),
        ([(b"Retry-After", b"5")], 200, None, True, 1),
        ([(b"ratelimit", b'"default";r=0;t=5')], 200, None, True, 1),  # structured: parsed in full
        ([(b"ratelimit-policy", b'"default";q=100')], 200, None, False, 1),
        ([], 429, None, True, 0),
        ([(b"x-ratelimit-limit", b"60")], 403, None, True, 1),
    ],
)
def test_scan_classifies_signals(headers, status, remaining, urgent, kept):
    relevant, lowest, must_parse = provider_limits.scan(headers, status)
    assert (len(relevant), lowest, must_parse) == (kept, remaining, urgent)
    assert provider_limits.signal_kind(b"Retry-After") is provider_limits.SignalKind.URGENT


# AI providers' budgets and 529 overload (docs/adr/0021)


def test_openai_token_budget_spent_blocks_until_its_duration_reset():
    headers = {
        "x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "499",
        "x-ratelimit-reset-requests": "120ms", "x-ratelimit-limit-tokens": "30000",
        "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s",
    }  # fmt: skip
    (block,) = blocks_for(parse(headers, NOW), 200, NOW, default_backoff_s=1, max_block_s=3600)
    assert block.scope == "tokens" and block.until == NOW + 360


def test_anthropic_output_token_budget_spent_blocks_until_its_rfc3339_reset():
    headers = {
        "anthropic-ratelimit-requests-remaining": "10",
        "anthropic-ratelimit-requests-reset": "2027-01-15T08:00:30Z",
        "anthropic-ratelimit-output-tokens-limit": "8000", "anthropic-ratelimit-output-tokens-remaining": "0",
        "anthropic-ratelimit-output-tokens-reset": "2027-01-15T08:01:00Z",
    }  # fmt: skip
    now = datetime(2027, 1, 15, 8, 0, 0, tzinfo=UTC).timestamp()
    signals = parse(headers, now)
    assert {lim.api_name for lim in signals.limits} == {"requests", "output-tokens"}
    (block,) = blocks_for(signals, 200, now, default_backoff_s=1, max_block_s=3600)
    assert block.scope == "output-tokens" and block.until == now + 60


def test_a_529_with_retry_after_blocks_like_a_503():
    signals = parse({"retry-after": "20"}, NOW)
    (block,) = blocks_for(signals, 529, NOW, default_backoff_s=1, max_block_s=3600)
    assert block.scope == "retry-after" and block.until == NOW + 20
