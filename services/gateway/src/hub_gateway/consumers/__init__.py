"""Kafka consumers of the gateway."""
