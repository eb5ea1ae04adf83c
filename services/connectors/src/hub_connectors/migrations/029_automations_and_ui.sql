-- Trigger→action automations, their runs, and the Integration Manager UI's sessions and
-- end-user connect sessions (docs/adr/0029). Every row carries its tenant; every query filters
-- on it. (Numbered 029 after its ADR so that parallel branches do not collide.)

CREATE TABLE automations (
    id                     uuid        PRIMARY KEY,
    tenant_id              text        NOT NULL,
    name                   text        NOT NULL,
    trigger_connection_id  uuid        NOT NULL,
    trigger_id             text        NOT NULL,
    action_connection_id   uuid        NOT NULL,
    action_id              text        NOT NULL,
    -- parameter name -> constant or template string (domain/templates.py)
    parameters             jsonb       NOT NULL DEFAULT '{}',
    enabled                boolean     NOT NULL DEFAULT true,
    disabled_reason        text,
    created_by             text        NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX automations_by_trigger ON automations (tenant_id, trigger_connection_id, trigger_id)
    WHERE enabled;
CREATE INDEX automations_by_tenant ON automations (tenant_id, created_at DESC);

-- One row per (automation, trigger event): the claim a redelivered trigger runs into. It is
-- committed before the action runs, so an action runs at most once per trigger event.
CREATE TABLE automation_runs (
    id                   uuid        PRIMARY KEY,
    tenant_id            text        NOT NULL,
    automation_id        uuid        NOT NULL REFERENCES automations (id) ON DELETE CASCADE,
    trigger_event_id     text        NOT NULL,
    status               text        NOT NULL,
    attempts             integer     NOT NULL DEFAULT 0,
    trigger_payload      jsonb,
    rendered_parameters  jsonb,
    result               jsonb,
    error_code           text,
    error_message        text,
    started_at           timestamptz NOT NULL DEFAULT now(),
    finished_at          timestamptz,
    UNIQUE (automation_id, trigger_event_id)
);
CREATE INDEX automation_runs_list ON automation_runs (tenant_id, automation_id, started_at DESC, id DESC);

-- Browser sessions of the UI: the bearer JWT exchanged once for a random cookie whose hash is
-- kept here with its CSRF token (the cookie value itself is never stored).
CREATE TABLE ui_sessions (
    id_hash      bytea       PRIMARY KEY,
    tenant_id    text        NOT NULL,
    user_id      text        NOT NULL,
    tier         text        NOT NULL,
    csrf_token   text        NOT NULL,
    -- an end user's connect session: only the connect pages, only these connectors
    end_user_id  text,
    allowed_connectors text[],
    return_to    text,
    expires_at   timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ui_sessions_expiry ON ui_sessions (expires_at);

-- Short-lived tokens a product hands its end user (POST /v1/connect/sessions); used once.
CREATE TABLE connect_sessions (
    token_hash          bytea       PRIMARY KEY,
    id                  uuid        NOT NULL UNIQUE,
    tenant_id           text        NOT NULL,
    created_by          text        NOT NULL,
    tier                text        NOT NULL,
    end_user_id         text        NOT NULL,
    end_user_email      text,
    allowed_connectors  text[]      NOT NULL,
    return_to           text,
    expires_at          timestamptz NOT NULL,
    used_at             timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now()
);

-- A connection made through a connect session names its end user.
ALTER TABLE integrations_connections ADD COLUMN end_user_id text;
CREATE INDEX connections_end_user ON integrations_connections (tenant_id, end_user_id) WHERE end_user_id IS NOT NULL;
