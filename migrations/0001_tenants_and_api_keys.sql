-- Tenants and their API keys.
--
-- Every closed set of values below is spelled exactly as herald-domain's `as_str()`; the
-- CHECKs make a value outside the vocabulary impossible to store, whoever writes it.
-- All times are timestamptz (DESIGN.md 1.6).

CREATE TABLE tenants (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL UNIQUE
                           CHECK (name = btrim(name) AND length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A key is `hrld_{prefix}_{secret}`. Only the prefix (to find the row) and the SHA-256 of the
-- whole key are stored: the secret never reaches the database.
CREATE TABLE api_keys (
    id           uuid        PRIMARY KEY,
    tenant_id    uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    prefix       text        NOT NULL UNIQUE CHECK (prefix ~ '^[a-z0-9]{12}$'),
    hash         bytea       NOT NULL CHECK (length(hash) = 32),
    scopes       text[]      NOT NULL
                             CHECK (cardinality(scopes) > 0
                                    AND array_position(scopes, NULL) IS NULL
                                    AND scopes <@ ARRAY['publish', 'read', 'admin']::text[]),
    name         text        CHECK (length(name) <= 200),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id);
