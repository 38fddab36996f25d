-- Posts, their deliveries (one per connection), the delivery journal and the event log.

-- A post stores no aggregate state of its own: its state is derived from its deliveries on
-- read, so the two can never disagree and no delivery transition has to touch the post row.
CREATE TABLE posts (
    id              uuid        PRIMARY KEY,
    tenant_id       uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    idempotency_key text        CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    -- SHA-256 of the request that created the post: the same key with another body is a
    -- conflict, not a replay.
    request_hash    bytea       CHECK (length(request_hash) = 32),
    content         jsonb       NOT NULL CHECK (jsonb_typeof(content) = 'object'),
    -- When the producer asked for it to go out; NULL: as soon as possible.
    publish_at      timestamptz,
    metadata        jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    created_at      timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT posts_idempotency_key_has_hash
        CHECK ((idempotency_key IS NULL) = (request_hash IS NULL)),
    CONSTRAINT posts_tenant_idempotency_key UNIQUE (tenant_id, idempotency_key),
    -- Target of the composite foreign key that keeps a delivery in its post's tenant.
    CONSTRAINT posts_id_tenant_key UNIQUE (id, tenant_id)
);

CREATE INDEX posts_tenant_idx ON posts (tenant_id, id);

CREATE TABLE deliveries (
    id               uuid        PRIMARY KEY,
    post_id          uuid        NOT NULL,
    tenant_id        uuid        NOT NULL,
    connection_id    uuid        NOT NULL,
    platform         text        NOT NULL
                                 CHECK (platform IN ('twitter', 'linkedin', 'facebook',
                                                     'instagram', 'threads', 'telegram')),
    -- This target's override of the post's content; NULL: the post's content.
    content          jsonb       CHECK (jsonb_typeof(content) = 'object'),
    state            text        NOT NULL
                                 CHECK (state IN ('scheduled', 'queued', 'running', 'retrying',
                                                  'rate_limited', 'published', 'failed', 'dead',
                                                  'unknown', 'cancelled')),
    attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     integer     NOT NULL CHECK (max_attempts >= 1),
    run_at           timestamptz NOT NULL,
    lease_owner      text,
    lease_expires_at timestamptz,
    remote_id        text,
    public_url       text,
    -- What was given up to get the post out, e.g. 'media_dropped'.
    degraded         text[]      NOT NULL DEFAULT '{}' CHECK (array_position(degraded, NULL) IS NULL),
    error_class      text        CHECK (error_class IN ('retryable', 'rate_limited', 'permanent',
                                                        'reconnect_required', 'unknown_outcome')),
    error_code       text,
    error_message    text,
    error_hint       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,

    CONSTRAINT deliveries_post_fk FOREIGN KEY (post_id, tenant_id)
        REFERENCES posts (id, tenant_id) ON DELETE CASCADE,
    -- A delivery goes to a connection of its own tenant, on that connection's platform.
    -- Connections with deliveries cannot be deleted (disable them instead).
    CONSTRAINT deliveries_connection_fk FOREIGN KEY (connection_id, tenant_id, platform)
        REFERENCES connections (id, tenant_id, platform) ON DELETE RESTRICT,
    CONSTRAINT deliveries_one_per_post_connection UNIQUE (post_id, connection_id),
    -- Exactly the running deliveries hold a lease: a worker owns it until it expires.
    CONSTRAINT deliveries_running_iff_leased
        CHECK ((state = 'running') = (lease_owner IS NOT NULL)
               AND (lease_owner IS NULL) = (lease_expires_at IS NULL)),
    CONSTRAINT deliveries_finished_iff_final
        CHECK ((finished_at IS NOT NULL)
               = (state IN ('published', 'failed', 'dead', 'unknown', 'cancelled'))),
    CONSTRAINT deliveries_error_has_class_and_message
        CHECK ((error_class IS NULL) = (error_message IS NULL)
               AND (error_class IS NOT NULL OR (error_code IS NULL AND error_hint IS NULL)))
);

-- The sweeper's question: what is due and not running?
CREATE INDEX deliveries_due_idx ON deliveries (run_at)
    WHERE state IN ('scheduled', 'queued', 'retrying', 'rate_limited');
-- Whose worker died?
CREATE INDEX deliveries_lease_idx ON deliveries (lease_expires_at) WHERE state = 'running';
CREATE INDEX deliveries_connection_idx ON deliveries (connection_id);
CREATE INDEX deliveries_tenant_idx ON deliveries (tenant_id, id);

-- The journal: one row per platform side effect, written `sending` before the call and
-- `done` (with the remote id) or `failed` after it. A `sending` row with no outcome means
-- the call may or may not have happened: it is resolved by lookup, never by calling again.
CREATE TABLE delivery_steps (
    delivery_id uuid        NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    -- 'media:0', 'container', 'publish', 'part:1', ...
    step        text        NOT NULL
                            CHECK (step ~ '^[a-z][a-z0-9_]*(:[a-z0-9_]+)*$' AND length(step) <= 64),
    state       text        NOT NULL CHECK (state IN ('sending', 'done', 'failed')),
    remote_id   text,
    detail      jsonb,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,

    PRIMARY KEY (delivery_id, step),
    CONSTRAINT delivery_steps_finished_iff_outcome
        CHECK ((state = 'sending') = (finished_at IS NULL))
);

-- Calls that may or may not have happened, for the sweeper to resolve by lookup.
CREATE INDEX delivery_steps_sending_idx ON delivery_steps (started_at) WHERE state = 'sending';

-- Every state change of a delivery, in order: drives SSE, webhooks and timelines.
CREATE TABLE delivery_events (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id uuid        NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- NULL for the event that created the delivery.
    from_state  text        CHECK (from_state IN ('scheduled', 'queued', 'running', 'retrying',
                                                  'rate_limited', 'published', 'failed', 'dead',
                                                  'unknown', 'cancelled')),
    to_state    text        NOT NULL
                            CHECK (to_state IN ('scheduled', 'queued', 'running', 'retrying',
                                                'rate_limited', 'published', 'failed', 'dead',
                                                'unknown', 'cancelled')),
    detail      jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object'),
    at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX delivery_events_delivery_idx ON delivery_events (delivery_id, id);
CREATE INDEX delivery_events_tenant_idx ON delivery_events (tenant_id, id);
