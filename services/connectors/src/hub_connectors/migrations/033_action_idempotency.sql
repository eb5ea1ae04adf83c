-- Retry-safe actions (docs/adr/0033): POST /v1/connections/{id}/actions/{action} with an
-- Idempotency-Key claims the key before the provider is called and records the result in the
-- transaction that publishes integration.action-executed. A retry gets that result back; while
-- the result is NULL (the first attempt runs, or the process died mid-call: whether the provider
-- executed it is unknown) the action is not run again. Rows are forgotten after a day.
CREATE TABLE action_idempotency (
    tenant_id       text        NOT NULL,
    idempotency_key text        NOT NULL,
    -- sha256 of the connection, the action and its parameters: the same key with another request
    -- is refused, never answered with the first one's result.
    fingerprint     text        NOT NULL,
    result          jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, idempotency_key)
);
CREATE INDEX action_idempotency_age ON action_idempotency (created_at);
