-- Token usage metered from AI providers' answers (docs/adr/0021): running totals per connection
-- (tenant and connector kept for per-tenant sums), added to in batches by every replica.
-- (Numbered 021 after its ADR so that parallel branches adding 002... do not collide.)
CREATE TABLE token_usage (
    connection_id uuid NOT NULL PRIMARY KEY,
    tenant_id text NOT NULL,
    connector_id text NOT NULL,
    input_tokens bigint NOT NULL DEFAULT 0,
    output_tokens bigint NOT NULL DEFAULT 0,
    responses bigint NOT NULL DEFAULT 0,
    first_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX token_usage_tenant_idx ON token_usage (tenant_id);
