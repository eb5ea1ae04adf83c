"""Writes ``deploy/k8s/components/strimzi-cnpg/topics.yaml``: one Strimzi KafkaTopic per event
topic and dead-letter topic the hub uses (``hub_common.kafka.admin.hub_topics``).

    uv run python tests/deploy/write_kafka_topics.py
"""

from __future__ import annotations

from pathlib import Path

from hub_common.kafka.admin import hub_topics

TARGET = Path(__file__).resolve().parents[2] / "deploy/k8s/components/strimzi-cnpg/topics.yaml"
HEAD = """# One KafkaTopic per event topic and dead-letter topic (hub_common.kafka.admin.hub_topics, the
# list docs/asyncapi.json describes); tests/deploy fails when this list and the code differ.
# Regenerate: uv run python tests/deploy/write_kafka_topics.py
"""
TOPIC = """apiVersion: kafka.strimzi.io/v1
kind: KafkaTopic
metadata:
  name: {topic}
  labels:
    strimzi.io/cluster: hub-kafka
spec:
  topicName: {topic}
  partitions: 6
  replicas: 3
  config:
    min.insync.replicas: 2
"""


def render() -> str:
    return HEAD + "---\n".join(TOPIC.format(topic=t) for t in sorted(hub_topics()))


if __name__ == "__main__":
    TARGET.write_text(render())
    print(f"wrote {TARGET}")
