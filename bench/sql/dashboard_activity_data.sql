-- Data for the dashboard's chart and schedule queries (herald_store::Activity): a week of
-- history, 10 tenants, 30 000 published deliveries each (a created and a final event, 1 in
-- 20 retried once) and 3 000 scheduled in the week ahead. Run on a scratch database with
-- the migrations applied, e.g.
--
--   createdb -h 127.0.0.1 -U postgres herald_bench_dash
--   for m in migrations/*.sql; do psql -q -h 127.0.0.1 -U postgres herald_bench_dash -f $m; done
--   psql -h 127.0.0.1 -U postgres herald_bench_dash -f bench/sql/dashboard_activity_data.sql
--   psql -h 127.0.0.1 -U postgres herald_bench_dash -f bench/sql/dashboard_activity.sql
--
-- (this file once, then the queries as often as wanted).
\set ON_ERROR_STOP on
\timing off
BEGIN;
INSERT INTO tenants (id, name)
SELECT ('00000000-0000-0000-0000-0000000000' || lpad(t::text, 2, '0'))::uuid, 'bench ' || t
FROM generate_series(1, 10) t;
INSERT INTO connections (id, tenant_id, platform, account_id, access_token)
SELECT ('00000000-0000-0000-000' || k || '-0000000000' || lpad(t::text, 2, '0'))::uuid,
       ('00000000-0000-0000-0000-0000000000' || lpad(t::text, 2, '0'))::uuid,
       (ARRAY['telegram', 'threads'])[k], 'bench' || t, 'k1:' || repeat('A', 40)
FROM generate_series(1, 10) t, generate_series(1, 2) k;
INSERT INTO posts (id, tenant_id, content, created_at)
SELECT gen_random_uuid(), ('00000000-0000-0000-0000-0000000000' || lpad((1 + n % 10)::text, 2, '0'))::uuid,
       '{"text":"bench"}', now() - (n % 604800) * interval '1 second'
FROM generate_series(1, 300000) n;
INSERT INTO deliveries (id, post_id, tenant_id, connection_id, platform, state, max_attempts,
                        run_at, created_at, finished_at)
SELECT gen_random_uuid(), p.id, p.tenant_id,
       ('00000000-0000-0000-0001-' || right(p.tenant_id::text, 12))::uuid, 'telegram',
       'published', 5, p.created_at, p.created_at, p.created_at + interval '3 seconds'
FROM posts p;
INSERT INTO delivery_events (delivery_id, tenant_id, from_state, to_state, at)
SELECT id, tenant_id, NULL, 'queued', created_at FROM deliveries;
INSERT INTO delivery_events (delivery_id, tenant_id, from_state, to_state, at)
SELECT id, tenant_id, 'running', 'retrying', created_at + interval '1 second'
FROM deliveries WHERE abs(hashtext(id::text)) % 20 = 0;
INSERT INTO delivery_events (delivery_id, tenant_id, from_state, to_state, at)
SELECT id, tenant_id, 'running', 'published', finished_at FROM deliveries;
-- A week of scheduled deliveries ahead.
INSERT INTO deliveries (id, post_id, tenant_id, connection_id, platform, state, max_attempts, run_at)
SELECT gen_random_uuid(), p.id, p.tenant_id,
       ('00000000-0000-0000-0002-' || right(p.tenant_id::text, 12))::uuid, 'threads',
       'scheduled', 5, now() + (random() * 7) * interval '1 day'
FROM posts p WHERE abs(hashtext(p.id::text)) % 100 = 0;
COMMIT;
ANALYZE;

