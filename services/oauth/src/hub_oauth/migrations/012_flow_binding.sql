-- Browser binding of authorization flows (docs/adr/0012-browser-bound-oauth-flows.md).
-- start_hash: SHA-256 of the one-time start link's ticket, cleared when the link is opened.
-- binding_hash: SHA-256 of the value the start link put in the browser's cookie; the callback
-- completes only a flow whose binding the arriving browser proves. NULL = never opened in a
-- browser: only its starting user can complete it, through /exchange.
-- authorization_url: where the start link sends the browser; cleared once it did.
ALTER TABLE flows
    ADD COLUMN start_hash        bytea,
    ADD COLUMN start_expires_at  timestamptz,
    ADD COLUMN binding_hash      bytea,
    ADD COLUMN authorization_url text;
