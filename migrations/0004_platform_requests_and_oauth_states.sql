-- Hard platform windows and pending OAuth authorizations.

-- Every outbound request that counts toward a platform window (X's per-account 24 h,
-- Instagram's publishing quota, Threads' 250/24 h). A row is written when the slot is
-- reserved, before the request goes out, so a failed or unanswered request still counts.
CREATE TABLE platform_requests (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection_id uuid        NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    platform      text        NOT NULL
                              CHECK (platform IN ('twitter', 'linkedin', 'facebook',
                                                  'instagram', 'threads', 'telegram')),
    -- Which window it counts toward, e.g. 'posts_24h'.
    bucket        text        NOT NULL CHECK (bucket ~ '^[a-z][a-z0-9_:]{0,63}$'),
    endpoint      text        NOT NULL,
    -- The HTTP status, once known; NULL: not answered (yet).
    status        smallint    CHECK (status BETWEEN 100 AND 599),
    -- Kept when the delivery goes away: the request still counts.
    delivery_id   uuid        REFERENCES deliveries (id) ON DELETE SET NULL,
    at            timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- "Requests of this connection in this bucket in the last window."
CREATE INDEX platform_requests_window_idx ON platform_requests (connection_id, bucket, at);
CREATE INDEX platform_requests_at_idx ON platform_requests (at);

-- The server-side half of an OAuth `state` parameter: single use, short-lived. Only the
-- SHA-256 of the state value is stored; the PKCE verifier is sealed like a token.
CREATE TABLE oauth_states (
    id               uuid        PRIMARY KEY,
    state_hash       bytea       NOT NULL UNIQUE CHECK (length(state_hash) = 32),
    tenant_id        uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    platform         text        NOT NULL
                                 CHECK (platform IN ('twitter', 'linkedin', 'facebook',
                                                     'instagram', 'threads', 'telegram')),
    app_type         text        CHECK (app_type IN ('personal', 'company')),
    post_target_type text        NOT NULL CHECK (post_target_type IN ('personal', 'page')),
    external_user_id text        CHECK (length(external_user_id) BETWEEN 1 AND 255),
    return_to        text,
    pkce_verifier    text        CHECK (pkce_verifier ~ '^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_-]{38,}$'),
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    consumed_at      timestamptz,

    CONSTRAINT oauth_states_app_type_iff_linkedin
        CHECK ((platform = 'linkedin') = (app_type IS NOT NULL)),
    CONSTRAINT oauth_states_expire_after_creation CHECK (expires_at > created_at)
);

CREATE INDEX oauth_states_expires_idx ON oauth_states (expires_at);
