-- Dashboard sessions, in Postgres so that they survive an API restart and any API instance
-- behind a load balancer can serve any browser.
--
-- The cookie carries a random session id; only its SHA-256 is stored, so the table can leak
-- without handing out a usable session. A session belongs to the key that signed in: the
-- dashboard reads it joined with that key, so revoking the key signs its sessions out, and
-- deleting the key (or its tenant) deletes them.
CREATE TABLE dashboard_sessions (
    id_hash    bytea       PRIMARY KEY CHECK (length(id_hash) = 32),
    tenant_id  uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key_id     uuid        NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    -- Every form of the session carries it; a POST without it is refused.
    csrf       text        NOT NULL CHECK (length(csrf) BETWEEN 32 AND 128),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    CONSTRAINT dashboard_sessions_expire_after_creation CHECK (expires_at > created_at)
);

-- Sign-in deletes the expired rows.
CREATE INDEX dashboard_sessions_expires_idx ON dashboard_sessions (expires_at);
CREATE INDEX dashboard_sessions_key_idx ON dashboard_sessions (key_id);
