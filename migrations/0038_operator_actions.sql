-- The journal of the dashboard's bulk actions: who (the key and its name at the time), what,
-- on which filter, how many deliveries it found and how many it changed, and when. Each
-- changed delivery's own timeline (delivery_events) names the key too.
CREATE TABLE operator_actions (
    id         uuid        PRIMARY KEY,
    tenant_id  uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key_id     uuid        NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    -- A key's name can be absent; the journal keeps what was shown at the time.
    key_name   text        CHECK (length(key_name) <= 200),
    action     text        NOT NULL CHECK (action IN ('retry', 'cancel_scheduled')),
    -- The deliveries list's filter the action was pressed on (state, platform, connection,
    -- time range), as given.
    filter     jsonb       NOT NULL CHECK (jsonb_typeof(filter) = 'object'),
    matched    integer     NOT NULL CHECK (matched >= 0),
    changed    integer     NOT NULL CHECK (changed >= 0 AND changed <= matched),
    at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX operator_actions_tenant_idx ON operator_actions (tenant_id, at DESC);

-- The deliveries list filters by time of creation.
CREATE INDEX deliveries_tenant_created_idx ON deliveries (tenant_id, created_at);
