-- Standard Webhooks signing, and events that are not a delivery's state change.
--
-- `signing` says which headers a webhook's requests carry: 'legacy' webhooks (registered
-- before this migration) keep their secret and get Herald's own `Herald-Signature` beside
-- the Standard Webhooks headers until their secret is rotated; 'standard' ones get only the
-- Standard Webhooks headers.
ALTER TABLE webhooks
    ADD COLUMN signing text NOT NULL DEFAULT 'legacy' CHECK (signing IN ('legacy', 'standard'));
ALTER TABLE webhooks ALTER COLUMN signing SET DEFAULT 'standard';

-- Events about posts and connections, sent to webhooks like delivery events. Their ids come
-- from delivery_events' sequence, so one cursor per webhook (`webhooks.last_event_id`) walks
-- both tables in the order the events happened. `at` is the insert's clock time, not the
-- transaction's start, so the fan-out's settle delay holds for them too.
CREATE TABLE webhook_events (
    id         bigint      PRIMARY KEY DEFAULT nextval('delivery_events_id_seq'),
    tenant_id  uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    type       text        NOT NULL CHECK (type IN ('post.completed', 'connection.needs_reconnect',
                                                    'connection.expiring')),
    -- Events that must be sent once per fact (a post completed, a token's expiry) name the
    -- fact here; NULL for the others.
    dedupe_key text        UNIQUE,
    data       jsonb       NOT NULL CHECK (jsonb_typeof(data) = 'object'),
    at         timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX webhook_events_tenant_idx ON webhook_events (tenant_id, id);

-- Where the `post.completed` check has read delivery_events up to (one row per check).
CREATE TABLE webhook_event_cursors (
    name          text   PRIMARY KEY,
    last_event_id bigint NOT NULL
);

-- Posts completed before this migration are not announced.
INSERT INTO webhook_event_cursors (name, last_event_id)
SELECT 'post.completed', COALESCE(max(id), 0) FROM delivery_events;
