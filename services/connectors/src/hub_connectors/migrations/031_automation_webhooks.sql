-- The webhook registrations automations made (docs/adr/0029, "Webhook triggers"): saving an
-- automation whose trigger is a webhook trigger ensures a registration at the webhooks service;
-- the ones it had to create are remembered here, per (connection, trigger), and deleted when the
-- last automation on that trigger goes. Registrations a user made are never listed here.
-- (Numbered 031, this branch's ADR number, so that parallel branches do not collide.)
CREATE TABLE automation_webhooks (
    registration_id  uuid        PRIMARY KEY,
    tenant_id        text        NOT NULL,
    connection_id    uuid        NOT NULL,
    trigger_id       text        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX automation_webhooks_by_trigger ON automation_webhooks (tenant_id, connection_id, trigger_id);
