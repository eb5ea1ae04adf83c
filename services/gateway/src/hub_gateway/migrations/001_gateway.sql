-- Gateway schema: provider rate-limit snapshots (the scope document's integrations_rate_limits)
-- and per-tenant transforms. Connections live in the connectors service's schema, so there is
-- no foreign key: rows of a removed connection age out (see README, "Operations").

CREATE TABLE rate_limits (
    connection_id uuid NOT NULL,
    api_name text NOT NULL,
    tenant_id text NOT NULL,
    connector_id text NOT NULL,
    requests_limit integer,
    requests_remaining integer,
    reset_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, api_name)
);
CREATE INDEX rate_limits_tenant_idx ON rate_limits (tenant_id);
CREATE INDEX rate_limits_updated_idx ON rate_limits (updated_at);

CREATE TABLE transforms (
    tenant_id text NOT NULL,
    connector_id text NOT NULL,
    spec jsonb NOT NULL,
    version integer NOT NULL DEFAULT 1,
    updated_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, connector_id)
);
