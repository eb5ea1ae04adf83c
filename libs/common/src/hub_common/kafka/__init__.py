"""Kafka producer and consumer runner (aiokafka) carrying CloudEvents."""

from hub_common.kafka.consumer import ConsumerRunner, NonRetryableError, RetryPolicy, dlq_topic
from hub_common.kafka.producer import EventProducer

__all__ = ["ConsumerRunner", "EventProducer", "NonRetryableError", "RetryPolicy", "dlq_topic"]
