-- Key versions: metadata only. The key material (KEKs) lives outside the database; key_check
-- is a one-way fingerprint that detects a keyring swapped for a different one.
CREATE TABLE key_versions (
    version       int         PRIMARY KEY CHECK (version > 0),
    key_check     text        NOT NULL,
    created_at    timestamptz,
    registered_at timestamptz NOT NULL DEFAULT now(),
    retired_at    timestamptz,
    retired_by    text
);

-- The scope document's integrations_credentials, adapted: one schema per service, owned by a
-- tenant, no foreign key into another service's schema, envelope encryption columns.
CREATE TABLE credentials (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       text        NOT NULL,
    connection_id   uuid        NOT NULL,
    credential_key  text        NOT NULL,
    value_encrypted bytea       NOT NULL,   -- AES-256-GCM under the per-value DEK (tag appended)
    value_iv        bytea       NOT NULL CHECK (octet_length(value_iv) = 12),
    dek_encrypted   bytea       NOT NULL,   -- the DEK under KEK `key_version` (tag appended)
    dek_iv          bytea       NOT NULL CHECK (octet_length(dek_iv) = 12),
    key_version     int         NOT NULL REFERENCES key_versions (version),
    row_version     bigint      NOT NULL DEFAULT 1,  -- optimistic concurrency (rewrap vs writes)
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_credential UNIQUE (tenant_id, connection_id, credential_key)
);
CREATE INDEX credentials_key_version ON credentials (key_version, id);

-- Every access, allowed or not. Never a value: names, ids and outcomes only.
CREATE TABLE audit (
    id             bigserial   PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    request_id     text,
    caller         text        NOT NULL,
    operation      text        NOT NULL,
    tenant_id      text,
    connection_id  uuid,
    credential_key text,
    outcome        text        NOT NULL,
    key_version    int,
    details        jsonb
);
CREATE INDEX audit_connection ON audit (tenant_id, connection_id, at);
CREATE INDEX audit_at ON audit (at);

-- Online rewrap jobs: resumable from `cursor`, progress readable while they run.
CREATE TABLE rewrap_jobs (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    target_version int         NOT NULL REFERENCES key_versions (version),
    status         text        NOT NULL DEFAULT 'running'
                               CHECK (status IN ('running', 'completed', 'failed', 'superseded')),
    batch_size     int         NOT NULL,
    total          bigint      NOT NULL DEFAULT 0,
    rewrapped      bigint      NOT NULL DEFAULT 0,
    skipped        bigint      NOT NULL DEFAULT 0,
    failed         bigint      NOT NULL DEFAULT 0,
    passes         int         NOT NULL DEFAULT 0,
    cursor         uuid,
    started_by     text        NOT NULL,
    request_id     text,
    error          text,
    started_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz
);
CREATE UNIQUE INDEX rewrap_jobs_one_running ON rewrap_jobs ((true)) WHERE status = 'running';
