-- What the dashboard's charts and schedule read.
--
-- The overview counts a tenant's published, failed and retrying events per time bucket over
-- the last hour and the last day: without this index that is a walk over every event of the
-- tenant (delivery_events_tenant_idx is by id, not time). Partial, so the much more numerous
-- queued and running events stay out of it; the queries name the same states.
CREATE INDEX delivery_events_activity_idx ON delivery_events (tenant_id, at)
    WHERE to_state IN ('published', 'failed', 'dead', 'retrying');

-- The schedule lists a tenant's waiting deliveries in a day or a week: the sweeper's
-- deliveries_due_idx is by time across every tenant.
CREATE INDEX deliveries_tenant_due_idx ON deliveries (tenant_id, run_at)
    WHERE state IN ('scheduled', 'queued', 'retrying', 'rate_limited');
