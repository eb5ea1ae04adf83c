-- When the stored access token was issued (connect or refresh): the scheduler caps its margin
-- at half the token's lifetime, expires_at - issued_at. last_refreshed_at is now written on the
-- Redis clock shared by all replicas: the completion time callers coalesce on (ADR 0014).
ALTER TABLE tokens ADD COLUMN IF NOT EXISTS issued_at timestamptz;
