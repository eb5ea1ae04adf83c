-- Retry-safe creates: a POST /v1/connections with an Idempotency-Key is recorded in the same
-- transaction as the connection it made, so a retry after a lost answer (a crash, a timeout)
-- finds that connection instead of a 409 for its own name. Rows are forgotten after a day.
CREATE TABLE connection_idempotency (
    tenant_id       text        NOT NULL,
    idempotency_key text        NOT NULL,
    -- sha256 of what the create asked for (connector, name, config, which credential keys):
    -- the same key with another request is refused, never silently answered with the first.
    fingerprint     text        NOT NULL,
    connection_id   uuid        NOT NULL REFERENCES integrations_connections (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, idempotency_key)
);
CREATE INDEX connection_idempotency_age ON connection_idempotency (created_at);

-- The sweeper's look-up: creations that never finished.
CREATE INDEX connections_initializing ON integrations_connections (created_at)
    WHERE status = 'initializing';
