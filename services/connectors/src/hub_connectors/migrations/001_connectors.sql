-- Tenants as last seen in their bearer tokens: the tier drives audit retention and gates
-- background work; the row is also what connection creation locks to enforce the limit.
CREATE TABLE tenants (
    tenant_id    text        PRIMARY KEY,
    tier         text        NOT NULL CHECK (tier IN ('core', 'writerpro', 'teams', 'enterprise')),
    tier_seen_at timestamptz NOT NULL DEFAULT now(),
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Connections (scope document §5 integrations_connections, with tenancy and lifecycle fields).
-- Never deleted: a disconnect keeps the row (status 'disconnected') for audit and history.
CREATE TABLE integrations_connections (
    id                           uuid        PRIMARY KEY,
    tenant_id                    text        NOT NULL REFERENCES tenants (tenant_id),
    user_id                      text        NOT NULL,
    connector_id                 text        NOT NULL,
    connector_version            text        NOT NULL,
    category                     text        NOT NULL,
    custom                       boolean     NOT NULL DEFAULT false,
    auth_method                  text        NOT NULL,
    name                         text        NOT NULL,
    status                       text        NOT NULL CHECK (status IN
        ('initializing', 'active', 'token_expired', 'token_invalid', 'disconnected', 'error')),
    base_url                     text        NOT NULL,
    config                       jsonb       NOT NULL DEFAULT '{}',
    metadata                     jsonb       NOT NULL DEFAULT '{}',
    external_account_id          text,
    external_account_name        text,
    connected_at                 timestamptz,
    last_health_check_at         timestamptz,
    last_health_check_status     boolean,
    last_health_check_latency_ms int,
    last_error                   text,
    active_triggers_count        int         NOT NULL DEFAULT 0,
    -- When the status last changed: reports from other services older than this are stale.
    status_changed_at            timestamptz NOT NULL DEFAULT now(),
    created_at                   timestamptz NOT NULL DEFAULT now(),
    updated_at                   timestamptz NOT NULL DEFAULT now(),
    disconnected_at              timestamptz
);

-- Names are unique per (tenant, user, connector) among connections still in use.
CREATE UNIQUE INDEX connections_name_in_use
    ON integrations_connections (tenant_id, user_id, connector_id, name)
    WHERE status <> 'disconnected';
CREATE INDEX connections_by_tenant ON integrations_connections (tenant_id, created_at DESC);
CREATE INDEX connections_health_due ON integrations_connections (last_health_check_at NULLS FIRST)
    WHERE status IN ('active', 'error');

-- Audit log (scope document §5 integrations_audit_log), projected from integration events.
-- event_id is the CloudEvents id: the projector's dedupe. No foreign key: the log must not
-- depend on the order events arrive in, and connections are never deleted anyway.
CREATE TABLE integrations_audit_log (
    id            uuid        PRIMARY KEY,
    event_id      text        NOT NULL UNIQUE,
    tenant_id     text        NOT NULL,
    connection_id uuid,
    connector_id  text,
    event_type    text        NOT NULL,
    action_id     text,
    status        text,
    details       jsonb       NOT NULL DEFAULT '{}',
    error_message text,
    created_at    timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_by_tenant ON integrations_audit_log (tenant_id, created_at DESC, id DESC);
CREATE INDEX audit_by_connection ON integrations_audit_log (tenant_id, connection_id, created_at DESC, id DESC);
CREATE INDEX audit_by_age ON integrations_audit_log (created_at);
