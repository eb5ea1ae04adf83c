"""Topic provisioning (every event topic and its dead-letter topic, created if missing) and the
wait for the group coordinator that consumers need."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    CoordinatorLoadInProgressError,
    GroupCoordinatorNotAvailableError,
    NotCoordinatorError,
    TopicAlreadyExistsError,
)

from hub_common.errors import ConfigurationError
from hub_common.events.models import TOPICS
from hub_common.kafka.consumer import dlq_topic


def hub_topics() -> list[str]:
    return [name for topic in TOPICS for name in (topic, dlq_topic(topic))]


async def ensure_topics(
    bootstrap: str, topics: Iterable[str], *, partitions: int = 3, replication_factor: int = 1
) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in dict.fromkeys(topics) if t not in existing]
        if missing:
            # Created concurrently by someone else is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(t, num_partitions=partitions, replication_factor=replication_factor)
                        for t in missing
                    ]
                )
        return missing
    finally:
        await admin.close()


# Answers a broker gives while it creates or loads __consumer_offsets (a new broker's first
# ~1-2 s): consumers started then log "Marking the coordinator dead" until it is done.
_COORDINATOR_NOT_YET = (
    GroupCoordinatorNotAvailableError,
    CoordinatorLoadInProgressError,
    NotCoordinatorError,
)
PROBE_GROUP = "hubctl.coordinator-probe"


async def wait_for_group_coordinator(
    bootstrap: str,
    *,
    timeout_s: float = 30.0,
    interval_s: float = 0.2,
    admin_factory: Callable[..., AIOKafkaAdminClient] = AIOKafkaAdminClient,
) -> int:
    """Wait until the broker can coordinate consumer groups; returns the coordinator's node id.

    The probe only looks the coordinator up: no group is joined or created."""
    admin = admin_factory(bootstrap_servers=bootstrap)
    await admin.start()
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                node: int = await admin.find_coordinator(PROBE_GROUP)
                return node
            except _COORDINATOR_NOT_YET as exc:
                if time.monotonic() >= deadline:
                    raise ConfigurationError(
                        f"Kafka at {bootstrap} has no group coordinator after {timeout_s:g}s "
                        f"({type(exc).__name__}); see the broker's log"
                    ) from None
            await asyncio.sleep(interval_s)
    finally:
        await admin.close()
