-- Outbound delivery (docs/adr/0020): subscriptions, one delivery per (subscription, event), and
-- every attempt. The subscription's signing secrets live in the vault (keys named here, under
-- the subscription's id); nothing here is a secret.
CREATE TABLE webhook_subscriptions (
    id                   uuid        PRIMARY KEY,
    tenant_id            text        NOT NULL,
    user_id              text        NOT NULL,
    url                  text        NOT NULL,
    event_types          text[]      NOT NULL DEFAULT '{}',
    trigger_ids          text[]      NOT NULL DEFAULT '{}',
    connection_ids       uuid[]      NOT NULL DEFAULT '{}',
    rate_limit           int         CHECK (rate_limit IS NULL OR rate_limit > 0),  -- pushes per second
    max_concurrency      int         NOT NULL DEFAULT 4 CHECK (max_concurrency BETWEEN 1 AND 64),
    status               text        NOT NULL CHECK (status IN ('active', 'disabled', 'deleted')),
    disabled_reason      text,
    secret_key           text        NOT NULL,
    previous_secret_key  text,
    previous_valid_until timestamptz,
    -- Since when every attempt failed (NULL after a success): 5 days of it disables.
    failing_since        timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_subscriptions_by_tenant ON webhook_subscriptions (tenant_id, created_at DESC)
    WHERE status <> 'deleted';

-- The scope document's integrations_webhook_deliveries: one message to one subscriber. Its id is
-- the `webhook-id` header, the same on every attempt and replay. (subscription, source event) is
-- unique, so a Kafka redelivery of the source event creates nothing.
CREATE TABLE integrations_webhook_deliveries (
    id               uuid        PRIMARY KEY,
    seq              bigserial   NOT NULL,
    tenant_id        text        NOT NULL,
    subscription_id  uuid        NOT NULL REFERENCES webhook_subscriptions (id),
    -- Deliveries of one connection reach a subscriber in order (the tenant when none).
    ordering_key     text        NOT NULL,
    connection_id    uuid,
    event_type       text        NOT NULL,
    trigger_id       text,
    source_event_id  text        NOT NULL,
    payload          jsonb       NOT NULL,
    status           text        NOT NULL CHECK (status IN ('pending', 'delivered', 'dead', 'cancelled')),
    attempts         int         NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_until      timestamptz,
    last_status_code int,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    dead_at          timestamptz,
    UNIQUE (subscription_id, source_event_id)
);
CREATE INDEX webhook_deliveries_queue ON integrations_webhook_deliveries (subscription_id, ordering_key, seq)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_tenant ON integrations_webhook_deliveries (tenant_id, created_at DESC);

CREATE TABLE integrations_webhook_delivery_attempts (
    id              bigserial   PRIMARY KEY,
    tenant_id       text        NOT NULL,
    delivery_id     uuid        NOT NULL REFERENCES integrations_webhook_deliveries (id) ON DELETE CASCADE,
    subscription_id uuid        NOT NULL,
    attempt_number  int         NOT NULL,
    started_at      timestamptz NOT NULL,
    duration_ms     int         NOT NULL,
    status_code     int,
    -- 'started' is written before the request goes out, so an attempt the process died in the
    -- middle of is still in the log (it becomes 'interrupted' when the delivery is claimed again).
    outcome         text        NOT NULL
                    CHECK (outcome IN ('started', 'interrupted', 'delivered', 'failed', 'gone', 'refused')),
    error           text,
    next_attempt_at timestamptz
);
CREATE INDEX webhook_delivery_attempts_by_delivery ON integrations_webhook_delivery_attempts (delivery_id, id);
CREATE INDEX webhook_delivery_attempts_by_age ON integrations_webhook_delivery_attempts (tenant_id, started_at);
