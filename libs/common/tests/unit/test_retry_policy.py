import pytest

from hub_common.kafka import RetryPolicy, dlq_topic

pytestmark = pytest.mark.unit


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(attempts=6, initial_backoff_s=0.1, max_backoff_s=1.0)
    for attempt, base in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (9, 1.0)]:
        values = [policy.backoff(attempt) for _ in range(200)]
        assert all(base / 2 <= v <= base for v in values)
        # Jittered: spread over the range, not one value (a fixed backoff would pass the bounds).
        assert len(set(values)) > 150
        assert min(values) < base * 0.6 and max(values) > base * 0.9


def test_dead_letter_topic_name() -> None:
    assert dlq_topic("webhook.received") == "webhook.received.dlq"
