-- Where the vault holds the copy of a tenant's (or the deployment's) OAuth app client secret
-- that verifies webhooks signed with it (Atlassian's JWTs, docs/adr/0030). Never the secret:
-- the vault keys, and a digest that tells whether the copy still matches the app.
CREATE TABLE IF NOT EXISTS app_webhook_secrets (
    tenant_id            text        NOT NULL,
    connector_id         text        NOT NULL,
    app_kind             text        NOT NULL CHECK (app_kind IN ('tenant', 'deployment')),
    client_id            text        NOT NULL,
    fingerprint          text        NOT NULL,
    current_key          text        NOT NULL,
    previous_key         text,
    previous_valid_until timestamptz,
    rotated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, connector_id)
);
