"""Kafka handlers: decode, then hand over to a use case. Each record is one transaction."""
