-- Triggers fired from verified webhooks (docs/adr/0020). One row per provider event and trigger
-- of a connection: the key a redelivery (the same X-GitHub-Delivery, a Slack retry, a replay of
-- webhook.received) runs into, written in the transaction that stages the
-- integration.trigger-fired event in the outbox, so a trigger fires once or not at all.
-- (Numbered 020 after its ADR so that parallel branches adding 002... do not collide.)
CREATE TABLE trigger_firings (
    tenant_id        text        NOT NULL,
    connection_id    uuid        NOT NULL,
    dedupe_key       text        NOT NULL,
    trigger_id       text        NOT NULL,
    registration_id  uuid,
    event_id         text,
    fired_event_id   text        NOT NULL,
    fired_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, connection_id, dedupe_key)
);
CREATE INDEX trigger_firings_fired_at ON trigger_firings (fired_at);

-- Per registration and trigger: how many fired, how many the filter held back, when last.
CREATE TABLE trigger_counts (
    tenant_id        text        NOT NULL,
    registration_id  uuid        NOT NULL,
    trigger_id       text        NOT NULL,
    fired            bigint      NOT NULL DEFAULT 0,
    filtered         bigint      NOT NULL DEFAULT 0,
    duplicates       bigint      NOT NULL DEFAULT 0,
    last_fired_at    timestamptz,
    PRIMARY KEY (tenant_id, registration_id, trigger_id)
);
