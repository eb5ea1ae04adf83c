import pytest

from hub_common.kafka import RetryPolicy, dlq_topic

pytestmark = pytest.mark.unit


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(attempts=6, initial_backoff_s=0.1, max_backoff_s=1.0)
    for attempt, base in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (9, 1.0)]:
        for _ in range(50):
            value = policy.backoff(attempt)
            assert base / 2 <= value <= base


def test_dead_letter_topic_name() -> None:
    assert dlq_topic("webhook.received") == "webhook.received.dlq"
