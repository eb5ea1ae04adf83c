"""Use cases: one database transaction per operation, audit inside it, events via the outbox."""
