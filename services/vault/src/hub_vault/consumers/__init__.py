"""Kafka consumers of the vault service: none today, the service reacts to no event (what it
publishes leaves through the transactional outbox, ``hub_common.db.outbox``). A consumer added
later lives here, so every service keeps the same shape (docs/adr/0027)."""
