-- Where a registration's verifying secret comes from (docs/adr/0030): its own (generated, or
-- stored with PUT .../secret) or the connection's OAuth app client secret (Atlassian's JWTs),
-- which the oauth service keeps in the vault and names on request.
ALTER TABLE webhook_registrations
    ADD COLUMN IF NOT EXISTS secret_source text NOT NULL DEFAULT 'registration'
        CHECK (secret_source IN ('registration', 'oauth_app'));
