-- Runs of a delivery cut short by their worker's death (its lease expired). They are counted
-- apart from `attempts`, which counts runs that ended, so workers killed by a deploy or a
-- crash loop never use up a delivery's attempts; a delivery that keeps stopping its workers
-- still ends, at `worker.max_interrupted_runs`.
ALTER TABLE deliveries
    ADD COLUMN interrupted integer NOT NULL DEFAULT 0 CHECK (interrupted >= 0);
