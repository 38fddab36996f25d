-- Webhooks: a tenant's URLs that receive delivery events, signed, retried and logged.
--
-- Fan-out is driven by a cursor per webhook (`last_event_id` into delivery_events): the
-- sender locks a webhook row, turns the tenant's events after the cursor into
-- webhook_deliveries rows and moves the cursor, in one transaction, so an event is queued
-- for a webhook exactly once however many API processes run the sender.

CREATE TABLE webhooks (
    id            uuid        PRIMARY KEY,
    tenant_id     uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url           text        NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2048),
    -- 'delivery.published', 'delivery.failed', ... or '*' for every event.
    event_types   text[]      NOT NULL CHECK (cardinality(event_types) > 0
                                              AND array_position(event_types, NULL) IS NULL),
    -- The signing secret, sealed like a token.
    secret        text        NOT NULL CHECK (secret ~ '^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_-]{38,}$'),
    active        boolean     NOT NULL DEFAULT true,
    last_event_id bigint      NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhooks_tenant_idx ON webhooks (tenant_id, id);

CREATE TABLE webhook_deliveries (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      uuid        NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        bigint      NOT NULL,
    event_type      text        NOT NULL,
    payload         jsonb       NOT NULL,
    state           text        NOT NULL DEFAULT 'pending'
                                CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status     smallint,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,

    CONSTRAINT webhook_deliveries_once UNIQUE (webhook_id, event_id),
    CONSTRAINT webhook_deliveries_finished_iff_final
        CHECK ((finished_at IS NOT NULL) = (state <> 'pending'))
);

CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, id);
