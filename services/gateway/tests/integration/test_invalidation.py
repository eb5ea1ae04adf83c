"""Events invalidate every replica's caches: a disconnect is refused by both gateway processes
within one second; a rotated credential is used without waiting for a TTL."""

from __future__ import annotations

import asyncio
import time
import uuid
from urllib.parse import urlsplit

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions
from aiokafka.errors import KafkaError
from gateway_support import Scripted

from hub_common.events.envelope import encode
from hub_common.events.models import CredentialChanged
from hub_common.kafka.admin import ensure_topics
from hub_common.kafka.producer import EventProducer
from hub_common.testing import eventually
from hub_gateway.consumers.invalidation import InvalidationConsumer

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


async def test_disconnect_is_refused_by_every_replica_within_one_second(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    headers = hub.user_headers(tenant)
    for gateway in (hub.a, hub.b):  # both caches warm
        assert (await hub.http.get(hub.proxy(gateway, cid, "warm"), headers=headers)).status_code == 200
    published = await hub.publish_disconnect(tenant, cid)
    refused_after: dict[str, float] = {}
    while len(refused_after) < 2 and time.monotonic() - published < 5:
        for gateway in (hub.a, hub.b):
            if gateway in refused_after:
                continue
            resp = await hub.http.get(hub.proxy(gateway, cid, "after"), headers=headers)
            if resp.status_code == 409:
                assert resp.json()["error"]["details"] == {"status": "disconnected"}
                refused_after[gateway] = time.monotonic() - published
        await asyncio.sleep(0.01)
    print("refused after (s):", refused_after)
    assert len(refused_after) == 2
    assert max(refused_after.values()) < 1.0


async def test_rotated_credential_is_used_at_once(hub, tenant):
    cid = await hub.connect(tenant, secrets={"api_key": "key-old"})
    headers = hub.user_headers(tenant)
    hub.sim.on(f"/rotate-{cid}", lambda rec: Scripted(body=(rec.header("x-api-key") or "").encode()))
    for gateway in (hub.a, hub.b):
        assert (
            await hub.http.get(hub.proxy(gateway, cid, f"rotate-{cid}"), headers=headers)
        ).text == "key-old"
    # The REAL vault stores the new value and emits credential.changed through its outbox.
    await hub.store(tenant, cid, {"api_key": "key-new"})
    stored = time.monotonic()
    seen: dict[str, float] = {}
    while len(seen) < 2 and time.monotonic() - stored < 5:
        for gateway in (hub.a, hub.b):
            if gateway not in seen:
                resp = await hub.http.get(hub.proxy(gateway, cid, f"rotate-{cid}"), headers=headers)
                if resp.text == "key-new":
                    seen[gateway] = time.monotonic() - stored
        await asyncio.sleep(0.02)
    print("new key used after (s):", seen)
    assert len(seen) == 2 and max(seen.values()) < 2.0


async def test_a_retry_after_a_disconnect_is_not_sent(hub, tenant):
    """The provider says "retry in 1 s"; the connection is disconnected meanwhile: the gateway
    does not send its credential again."""
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    hub.sim.on(f"/wait-{cid}", Scripted(status=429, headers={"Retry-After": "1"}, body=b"{}"))
    call = asyncio.create_task(
        hub.http.get(hub.proxy(hub.a, cid, f"wait-{cid}"), headers=hub.user_headers(tenant))
    )
    for _ in range(500):  # the first attempt reaches the provider
        if hub.sim.seen(f"/wait-{cid}"):
            break
        await asyncio.sleep(0.01)
    await hub.publish_disconnect(tenant, cid)
    resp = await call
    assert resp.status_code == 409, resp.text
    assert resp.json()["error"]["details"] == {"status": "disconnected"}
    assert len(hub.sim.seen(f"/wait-{cid}")) == 1  # the retry never went out


async def test_a_disconnect_while_the_body_is_arriving_stops_the_call(hub, tenant):
    """The credential is resolved before the body is read; a disconnect applied while the caller
    is still sending it holds for this call too: nothing reaches the provider."""
    cid = await hub.connect(tenant, secrets={"api_key": "key-1"})
    url = urlsplit(hub.a)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    declared = 400
    head = [f"POST /v1/proxy/{cid}/slow-{cid} HTTP/1.1", f"Host: {url.netloc}", f"Content-Length: {declared}"]
    head += [f"{k}: {v}" for k, v in hub.user_headers(tenant).items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + b"{")
    sent = 1
    await writer.drain()
    await asyncio.sleep(0.1)  # the gateway has resolved the connection and waits for the body
    published = await hub.publish_disconnect(tenant, cid)
    while time.monotonic() - published < 2 and sent < declared - 1:  # until applied
        writer.write(b" ")  # the body keeps coming (slowly), inside the body idle timeout
        sent += 1
        resp = await hub.http.get(hub.proxy(hub.a, cid, "probe"), headers=hub.user_headers(tenant))
        if resp.status_code == 409:
            break
        await asyncio.sleep(0.02)
    writer.write(b" " * (declared - sent - 1) + b"}")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(65536), 5)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 409"), answer[:200]
    assert not hub.sim.seen(f"/slow-{cid}")


class RecordingResolver:
    """Stands in for the caches: the consumer, the broker and the topic are real."""

    def __init__(self) -> None:
        self.invalidated: list[uuid.UUID] = []

    def invalidate(self, connection_id: uuid.UUID, topic: str, *, credentials_only: bool = False) -> None:
        self.invalidated.append(connection_id)

    def tombstone(self, connection_id: uuid.UUID, tenant_id: str | None = None) -> None:
        self.invalidated.append(connection_id)


async def _send(producer, topic, partition, cid):
    event = CredentialChanged(tenant_id="t1", connection_id=cid, change="stored")
    key, value, headers = encode(event, source="/tests/gateway")
    for _ in range(50):  # the producer may learn of a new partition before the gateway does
        try:
            await producer.producer.send_and_wait(topic, value, key=key, headers=headers, partition=partition)
            return
        except (AssertionError, KafkaError):
            await producer.producer.client.force_metadata_update()
            await asyncio.sleep(0.05)
    pytest.fail(f"partition {partition} never became writable")


async def test_a_topic_growing_loses_no_event(kafka_bootstrap, unique_name):
    """The topic grows while the gateway runs, and producers keep writing: to the old partition
    all along, to the new one before the gateway's next metadata refresh. Every event
    invalidates: the new partition is read from its start, and the old one is not moved to its
    end when aiokafka replaces the assignment."""
    topic = unique_name("test.invalidation")
    await ensure_topics(kafka_bootstrap, [topic], partitions=1)
    resolver = RecordingResolver()
    feed = InvalidationConsumer(kafka_bootstrap, resolver, topics=(topic,), metadata_max_age_ms=1_000)
    await feed.start()
    producer = EventProducer(kafka_bootstrap, source="/tests/gateway")
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await asyncio.gather(producer.start(), admin.start())
    sent: list[uuid.UUID] = []

    async def keep_writing_to_the_old_partition(until: float) -> None:
        while time.monotonic() < until:
            sent.append(uuid.uuid4())
            await _send(producer, topic, 0, sent[-1])

    try:
        assert feed.started.is_set()
        writer = asyncio.create_task(keep_writing_to_the_old_partition(time.monotonic() + 2.5))
        await eventually(lambda: len(sent) >= 3, what="events on the old partition before it grows")
        await admin.create_partitions({topic: NewPartitions(total_count=2)})
        sent.append(uuid.uuid4())
        await _send(producer, topic, 1, sent[-1])
        await writer
        for _ in range(100):
            if set(sent) <= set(resolver.invalidated):
                break
            await asyncio.sleep(0.05)
        missing = set(sent) - set(resolver.invalidated)
        assert not missing, f"{len(missing)} of {len(sent)} events never applied"
    finally:
        await asyncio.gather(feed.stop(), producer.stop(), admin.close())
