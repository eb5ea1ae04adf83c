"""Test helpers: real Kafka/Postgres/Redis resolution and event assertions."""

from hub_common.testing.events import expect_events
from hub_common.testing.stack import StackAddresses, resolve_stack

__all__ = ["StackAddresses", "expect_events", "resolve_stack"]
