-- Polling triggers (docs/adr/0021): one row per (connection, polling trigger) with the
-- connector's cursor. A poller claims a due row with FOR UPDATE SKIP LOCKED and holds it while
-- it polls; the events it fires are staged in the outbox in the same transaction that moves the
-- cursor on, so an event fires once even across restarts (a poll whose commit was lost is redone
-- from the old cursor and fires the same events once).
-- (Numbered 021 after its ADR so that parallel branches adding 002... do not collide.)
CREATE TABLE trigger_polls (
    connection_id  uuid        NOT NULL REFERENCES integrations_connections (id) ON DELETE CASCADE,
    trigger_id     text        NOT NULL,
    tenant_id      text        NOT NULL,
    connector_id   text        NOT NULL,
    cursor         text,
    next_poll_at   timestamptz NOT NULL DEFAULT now(),
    last_polled_at timestamptz,
    fired          bigint      NOT NULL DEFAULT 0,
    last_error     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, trigger_id)
);
CREATE INDEX trigger_polls_due ON trigger_polls (next_poll_at);
