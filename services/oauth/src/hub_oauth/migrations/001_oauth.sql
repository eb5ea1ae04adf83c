-- OAuth apps per tenant and connector. The client secret lives in the vault, never here.
CREATE TABLE apps (
    tenant_id     text        NOT NULL,
    connector_id  text        NOT NULL,
    client_id     text        NOT NULL,
    redirect_uri  text,
    scopes        text[]      NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, connector_id)
);

-- Authorization flows. Only a SHA-256 of the state is kept (the state itself is a bearer
-- secret until it is used); the PKCE verifier is erased once the flow ends.
CREATE TABLE flows (
    id             uuid        PRIMARY KEY,
    tenant_id      text        NOT NULL,
    user_id        text        NOT NULL,
    connection_id  uuid        NOT NULL,
    connector_id   text        NOT NULL,
    state_hash     bytea       NOT NULL UNIQUE,
    code_verifier  text,
    redirect_uri   text        NOT NULL,
    scopes         text[]      NOT NULL DEFAULT '{}',
    return_to      text,
    expected_iss   text,
    status         text        NOT NULL DEFAULT 'pending'
                               CHECK (status IN ('pending', 'exchanging', 'completed', 'failed')),
    error_code     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    finished_at    timestamptz
);
CREATE INDEX flows_connection ON flows (tenant_id, connection_id);
CREATE INDEX flows_expires ON flows (expires_at) WHERE status = 'pending';

-- The scope document's integrations_oauth_tokens without the token values (in the vault).
-- `generation` increases on every stored token set: the compare-and-swap guard for refreshes.
CREATE TABLE tokens (
    connection_id       uuid        PRIMARY KEY,
    tenant_id           text        NOT NULL,
    connector_id        text        NOT NULL,
    grant_type          text        NOT NULL DEFAULT 'authorization_code',
    token_type          text        NOT NULL DEFAULT 'Bearer',
    expires_at          timestamptz,
    has_refresh_token   boolean     NOT NULL DEFAULT false,
    granted_scopes      text[]      NOT NULL DEFAULT '{}',
    external_account_id text,
    metadata            jsonb       NOT NULL DEFAULT '{}',
    status              text        NOT NULL DEFAULT 'active'
                                    CHECK (status IN ('active', 'invalid', 'revoked')),
    generation          bigint      NOT NULL DEFAULT 1,
    last_refreshed_at   timestamptz,                  -- NULL until the first refresh
    refresh_failures    int         NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz,
    last_error          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tokens_expiry ON tokens (expires_at) WHERE status = 'active';
CREATE INDEX tokens_tenant ON tokens (tenant_id);
