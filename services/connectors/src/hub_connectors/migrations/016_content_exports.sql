-- Content exports (docs/adr/0016): one row per export of a connection's content onto
-- integration.content. The cursor is checkpointed in the same transaction that stages a page's
-- documents in the outbox, so a resumed export neither loses nor repeats a committed page.
-- (Numbered 016 after its ADR so that parallel branches adding 002... do not collide.)
CREATE TABLE content_exports (
    id             uuid        PRIMARY KEY,
    tenant_id      text        NOT NULL,
    connection_id  uuid        NOT NULL REFERENCES integrations_connections (id),
    connector_id   text        NOT NULL,
    user_id        text        NOT NULL,
    mode           text        NOT NULL CHECK (mode IN ('full', 'incremental')),
    status         text        NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
    start_cursor   text,
    cursor         text,
    pages          int         NOT NULL DEFAULT 0,
    documents      int         NOT NULL DEFAULT 0,
    attempts       int         NOT NULL DEFAULT 0,
    error_code     text,
    error_message  text,
    -- Which worker runs it, until when: a crashed worker's lease runs out and another resumes.
    lease_owner    text,
    lease_until    timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz
);

-- At most one running export per connection.
CREATE UNIQUE INDEX content_exports_one_running ON content_exports (connection_id) WHERE status = 'running';
CREATE INDEX content_exports_by_connection ON content_exports (tenant_id, connection_id, created_at DESC);
CREATE INDEX content_exports_claimable ON content_exports (lease_until NULLS FIRST) WHERE status = 'running';
