-- Webhook intake (ADR 0019): registrations, durable dedupe of inbound deliveries, and the
-- rate-limited audit of refused deliveries. Outbound delivery tables are 002_* (ADR 0020).

-- Tenants as last seen in their bearer tokens: the tier drives retention.
CREATE TABLE tenants (
    tenant_id    text        PRIMARY KEY,
    tier         text        NOT NULL CHECK (tier IN ('core', 'writerpro', 'teams', 'enterprise')),
    tier_seen_at timestamptz NOT NULL DEFAULT now()
);

-- One registration = one URL the provider posts to, with its own secret(s) in the vault.
-- Secrets are vault keys of the connection (`webhook_secret.reg-...`); the row names them.
CREATE TABLE webhook_registrations (
    id                  uuid        PRIMARY KEY,
    tenant_id           text        NOT NULL REFERENCES tenants (tenant_id),
    user_id             text        NOT NULL,
    connection_id       uuid        NOT NULL,
    connector_id        text        NOT NULL,
    mode                text        NOT NULL CHECK (mode IN ('auto', 'manual')),
    status              text        NOT NULL CHECK (status IN ('active', 'pending_secret', 'deleted')),
    trigger_ids         text[]      NOT NULL,
    filter              jsonb,
    events              text[]      NOT NULL DEFAULT '{}',
    -- Routes /webhooks/{connector_id} (one URL per app): the workspace/account id of payloads.
    routing_key         text,
    external_id         text,
    provider_metadata   jsonb       NOT NULL DEFAULT '{}',
    -- The connector's declared signature scheme when the registration was made (SDK v2 spec).
    signature_spec      jsonb,
    secret_key          text,
    previous_secret_key text,
    previous_valid_until timestamptz,
    expires_at          timestamptz,
    received_count      bigint      NOT NULL DEFAULT 0,
    last_received_at    timestamptz,
    last_error          text,
    last_error_at       timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz
);
CREATE INDEX webhook_registrations_by_connection
    ON webhook_registrations (tenant_id, connection_id, created_at DESC);
CREATE UNIQUE INDEX webhook_registrations_routing
    ON webhook_registrations (connector_id, routing_key) WHERE routing_key IS NOT NULL AND status <> 'deleted';
CREATE INDEX webhook_registrations_expiring ON webhook_registrations (expires_at)
    WHERE expires_at IS NOT NULL AND status = 'active';

-- Durable dedupe: a provider's delivery id is accepted once per registration. The row and the
-- outbox row of webhook.received are written by one statement, so the 2xx means both exist.
CREATE TABLE webhook_inbound (
    registration_id uuid        NOT NULL,
    delivery_id     text        NOT NULL,
    tenant_id       text        NOT NULL,
    event_id        uuid        NOT NULL,
    event_name      text,
    body_bytes      int         NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (registration_id, delivery_id)
);
CREATE INDEX webhook_inbound_by_age ON webhook_inbound (tenant_id, received_at);

-- Refused deliveries (bad signature, no secret, ...): nothing of the payload is kept, and at
-- most a few rows per registration and minute (the rest are counted in `suppressed`).
CREATE TABLE webhook_intake_audit (
    id              bigserial   PRIMARY KEY,
    tenant_id       text,
    registration_id uuid,
    connector_id    text        NOT NULL,
    code            text        NOT NULL,
    remote_addr     text,
    suppressed      int         NOT NULL DEFAULT 0,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_intake_audit_by_age ON webhook_intake_audit (tenant_id, at);
