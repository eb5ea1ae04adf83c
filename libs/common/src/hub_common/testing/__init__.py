"""Test helpers: real Kafka/Postgres/Redis resolution and event assertions."""

from hub_common.testing.consumed import consumed
from hub_common.testing.events import expect_events
from hub_common.testing.polling import eventually, eventually_sync
from hub_common.testing.stack import StackAddresses, resolve_stack

__all__ = [
    "StackAddresses",
    "consumed",
    "eventually",
    "eventually_sync",
    "expect_events",
    "resolve_stack",
]
