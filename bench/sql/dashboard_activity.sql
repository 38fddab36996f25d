-- The plans and timings of the dashboard's chart and schedule queries (herald_store::Activity)
-- for one tenant, on the data `dashboard_activity_data.sql` makes (see there how to run
-- both); read the `Execution Time` lines.
\set ON_ERROR_STOP on

\echo 'outcomes, last hour per minute'
EXPLAIN (ANALYZE, COSTS OFF)
SELECT date_bin(60 * interval '1 second', at, now() - interval '1 hour') AS start,
       count(*) FILTER (WHERE to_state = 'published'),
       count(*) FILTER (WHERE to_state IN ('failed', 'dead')),
       count(*) FILTER (WHERE to_state = 'retrying')
FROM delivery_events
WHERE tenant_id = '00000000-0000-0000-0000-000000000001' AND at >= now() - interval '1 hour'
  AND to_state IN ('published', 'failed', 'dead', 'retrying')
GROUP BY 1 ORDER BY 1;

\echo 'outcomes, last day per 15 minutes'
EXPLAIN (ANALYZE, COSTS OFF)
SELECT date_bin(900 * interval '1 second', at, now() - interval '1 day') AS start,
       count(*) FILTER (WHERE to_state = 'published'),
       count(*) FILTER (WHERE to_state IN ('failed', 'dead')),
       count(*) FILTER (WHERE to_state = 'retrying')
FROM delivery_events
WHERE tenant_id = '00000000-0000-0000-0000-000000000001' AND at >= now() - interval '1 day'
  AND to_state IN ('published', 'failed', 'dead', 'retrying')
GROUP BY 1 ORDER BY 1;

\echo 'latency, last day per 15 minutes'
EXPLAIN (ANALYZE, COSTS OFF)
WITH published AS (
    SELECT e.at,
           greatest(0, extract(epoch FROM e.at - coalesce(p.publish_at, d.created_at)))::float8 AS secs
    FROM delivery_events e
    JOIN deliveries d ON d.id = e.delivery_id
    JOIN posts p ON p.id = d.post_id
    WHERE e.tenant_id = '00000000-0000-0000-0000-000000000001'
      AND e.at >= now() - interval '1 day' AND e.to_state = 'published'
)
SELECT date_bin(900 * interval '1 second', at, now() - interval '1 day'),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY secs),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY secs), count(*)
FROM published GROUP BY 1 ORDER BY 1;

\echo 'schedule, a week'
EXPLAIN (ANALYZE, COSTS OFF)
SELECT id, connection_id, platform, state, run_at FROM deliveries
WHERE tenant_id = '00000000-0000-0000-0000-000000000001' AND run_at >= now()
  AND run_at < now() + interval '7 days'
  AND state IN ('scheduled', 'queued', 'retrying', 'rate_limited')
ORDER BY run_at, id LIMIT 500;
