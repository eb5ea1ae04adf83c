import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from hub_webhooks.domain import standard_webhooks as sw
from hub_webhooks.domain.retry_schedule import (
    SVIX_SCHEDULE_S,
    RetrySchedule,
    parse_retry_after,
    parse_schedule,
)

pytestmark = pytest.mark.unit


def test_the_default_schedule_is_svixs_and_ends_in_a_dead_letter():
    schedule = RetrySchedule(jitter=0)
    assert SVIX_SCHEDULE_S == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    assert [schedule.next_delay(n) for n in range(1, 8)] == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert schedule.next_delay(8) is None


def test_jitter_stays_within_its_bounds_and_retry_after_wins_when_longer():
    schedule = RetrySchedule(delays_s=(0, 10), jitter=0.2, max_retry_after_s=60)
    delays = {schedule.next_delay(1) for _ in range(200)}
    assert all(8 <= d <= 12 for d in delays) and len(delays) > 1
    assert schedule.next_delay(1, retry_after_s=30) == 30
    assert schedule.next_delay(1, retry_after_s=3600) == 60  # capped
    assert 8 <= schedule.next_delay(1, retry_after_s=1) <= 12  # shorter than the schedule: ignored


def test_retry_after_seconds_and_http_dates():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    later = (now + timedelta(seconds=90)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after(later, now) == 90
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_parse_schedule():
    assert parse_schedule("0, 0.5,2") == (0, 0.5, 2)
    for bad in ("", "1,-1", "a"):
        with pytest.raises(ValueError):
            parse_schedule(bad)


def test_signature_matches_the_spec_by_hand():
    key = b"0123456789abcdef0123456789abcdef"
    secret = "whsec_" + base64.b64encode(key).decode()
    content = sw.signed_content("msg_1", 1700000000, b'{"a":1}')
    assert content == b'msg_1.1700000000.{"a":1}'
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    assert sw.sign(secret, content) == expected
    headers = sw.headers("msg_1", 1700000000, [expected, "b2xk"])
    assert headers["webhook-signature"] == f"v1,{expected} v1,b2xk"
