//! The publish queue: apalis-redis storage under Herald's keys, pushing, and the consumer's
//! settings.
//!
//! **What a job is.** A [`PublishJob`]: a delivery id and the trace context of the request
//! that enqueued it. The worker reads everything else from Postgres, so a job is cheap to
//! duplicate (a second copy finds nothing to claim) and cheap to lose (the sweeper
//! re-dispatches every due delivery that is not in flight).
//!
//! **Time.** apalis-redis keeps `run_at` in whole seconds and promotes a scheduled job when a
//! worker fetches at or after that second. [`JobQueue::push`] stores the second *containing*
//! the delivery's time, so a job arrives up to a second early and never late; the worker's
//! guarded claim (`run_at <= now()`) refuses an early job, and the worker waits out the
//! remainder asynchronously before it claims (a short wait inside the job).
//! Precision therefore comes from Postgres, not from Redis' granularity.
//!
//! **Identity.** A job's id is its delivery and the instant it is for (`<delivery>@<ms>`), so
//! a second push of the same job while the first is still in Redis is a no-op.
//!
//! **How apalis-redis 1.0 falls short, and what Herald does instead.**
//! - *Completed jobs are kept.* With result persistence off, a finished job stays in the
//!   worker's in-flight set for ever (and is replayed when that worker dies); with it on, the
//!   id moves to the `done` set and its data and metadata stay in Redis. Herald keeps results
//!   on (so in-flight sets stay small) and [`JobQueue::trim_completed`], run by the sweeper,
//!   deletes finished jobs' ids, data and metadata in small atomic batches.
//! - *Hash tags.* Every queue key is derived from the queue name `{prefix:queue:publish}`, so
//!   they share one slot. The one exception is worker registration, which also records the
//!   queue in a global `core:apalis:queues:list` key: on a Redis Cluster that script touches
//!   two slots. Herald's own scripts (push, trim, the limiter) touch one slot each; on a
//!   Cluster, registration is the part that needs a Redis proxy or single-shard deployment.
//! - *Retries.* apalis' retry bookkeeping is never used: the handler always succeeds from
//!   apalis' point of view and the outcome, with its retry schedule, lives in Postgres.

use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskId};
use apalis_redis::{Config as ApalisConfig, RedisStorage};
use chrono::{DateTime, Utc};
use herald_domain::PublishJob;
use redis::aio::ConnectionManager;

use crate::{QueueError, RedisKeys, RedisTimeouts, connect};

/// The name of the publish queue under the deployment's prefix.
pub const PUBLISH_QUEUE: &str = "publish";

/// How a consuming worker keeps itself alive in Redis.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerSettings {
    /// How often a worker tells Redis it is alive (and re-enqueues dead workers' jobs).
    pub heartbeat: Duration,
    /// How many heartbeats a worker may miss before its in-flight jobs go back to waiting.
    /// `heartbeat x missed_heartbeats` is how long a dead worker's jobs stay stuck.
    pub missed_heartbeats: usize,
    /// How many jobs one fetch takes.
    pub batch_size: usize,
    /// How often an idle worker looks for new or newly due jobs.
    pub poll_interval: Duration,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        // 3 s x 4 = 12 s: a dead worker's jobs are back within 15 s.
        Self {
            heartbeat: Duration::from_secs(3),
            missed_heartbeats: 4,
            batch_size: 32,
            poll_interval: Duration::from_millis(100),
        }
    }
}

/// Pushes publish jobs to Redis. Cheap to clone; every clone shares one self-reconnecting
/// connection.
#[derive(Clone)]
pub struct JobQueue {
    conn: ConnectionManager,
    keys: RedisKeys,
    config: ApalisConfig,
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobQueue")
            .field("queue", &self.config.queue.as_ref())
            .finish_non_exhaustive()
    }
}

impl JobQueue {
    /// Connects with Herald's patient timeouts (see [`RedisTimeouts`]).
    pub async fn connect(redis_url: &str, keys: RedisKeys) -> Result<JobQueue, QueueError> {
        let conn = connect(redis_url, RedisTimeouts::default()).await?;
        Ok(Self::with_connection(conn, keys))
    }

    /// A queue over an existing connection.
    pub fn with_connection(conn: ConnectionManager, keys: RedisKeys) -> JobQueue {
        let config = apalis_config(&keys, &ConsumerSettings::default());
        JobQueue { conn, keys, config }
    }

    pub fn keys(&self) -> &RedisKeys {
        &self.keys
    }

    /// The connection this queue uses (shared with the limiter in a worker).
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// Pushes one job: `run_at <= now` means now, a later time schedules it.
    pub async fn push(&self, job: &PublishJob, run_at: DateTime<Utc>) -> Result<(), QueueError> {
        self.push_many(std::slice::from_ref(&(job.clone(), run_at)))
            .await
    }

    /// Pushes many jobs in one atomic script call.
    pub async fn push_many(&self, jobs: &[(PublishJob, DateTime<Utc>)]) -> Result<(), QueueError> {
        if jobs.is_empty() {
            return Ok(());
        }
        let mut tasks = Vec::with_capacity(jobs.len());
        for (job, run_at) in jobs {
            let data = serde_json::to_vec(job).map_err(QueueError::Encode)?;
            // The second containing run_at: never late, at most a second early (module docs).
            let second = u64::try_from(run_at.timestamp()).unwrap_or(0);
            tasks.push(
                TaskBuilder::new(data)
                    .task_id(job_id(job, *run_at))
                    .run_at_timestamp(second)
                    .max_attempts(1)
                    .build(),
            );
        }
        let mut conn = self.conn.clone();
        apalis_redis::queries::push_tasks(&mut conn, &self.config, &tasks).await?;
        Ok(())
    }

    /// Deletes up to `limit` finished jobs (id, data and metadata) from Redis; returns how
    /// many. Results live in Postgres, so nothing is lost.
    pub async fn trim_completed(&self, limit: usize) -> Result<usize, QueueError> {
        let script = redis::Script::new(TRIM_COMPLETED);
        let mut conn = self.conn.clone();
        let removed: usize = script
            .key(self.config.done_jobs_set())
            .key(self.config.dead_jobs_set())
            .key(self.config.job_data_hash())
            .key(self.config.job_meta_hash())
            .arg(limit)
            .invoke_async(&mut conn)
            .await?;
        Ok(removed)
    }

    /// Moves scheduled jobs due by `until` to the waiting list, at most `limit` in one atomic
    /// call; returns how many moved. A worker calls it ahead of apalis' own promotion, a
    /// chunk at a time: apalis moves every due job in one Lua call whose `unpack` fails once
    /// several thousand fall due in the same second, which stops every fetch. Jobs moved a
    /// little early are harmless (a claim waits for the delivery's `run_at`).
    pub async fn promote_due(
        &self,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<usize, QueueError> {
        let script = redis::Script::new(PROMOTE_DUE);
        let mut conn = self.conn.clone();
        let moved: usize = script
            .key(self.config.scheduled_jobs_set())
            .key(self.config.active_jobs_list())
            .key(self.config.signal_list())
            .arg(until.timestamp())
            .arg(limit.max(1))
            .invoke_async(&mut conn)
            .await?;
        Ok(moved)
    }

    /// How many jobs wait (due or scheduled) in Redis; for metrics and tests.
    pub async fn depth(&self) -> Result<QueueDepth, QueueError> {
        let mut conn = self.conn.clone();
        let (waiting, scheduled): (usize, usize) = redis::pipe()
            .llen(self.config.active_jobs_list())
            .zcard(self.config.scheduled_jobs_set())
            .query_async(&mut conn)
            .await?;
        Ok(QueueDepth { waiting, scheduled })
    }

    /// How many consumers (`herald work` processes) have sent a heartbeat within `within`
    /// (their `heartbeat x missed_heartbeats`): apalis-redis keeps each registered
    /// consumer in the queue's workers sorted set, scored with its last heartbeat in unix
    /// seconds, and never removes a dead one. For metrics and tests.
    pub async fn alive_workers(&self, within: Duration) -> Result<usize, QueueError> {
        let since = Utc::now().timestamp() - i64::try_from(within.as_secs()).unwrap_or(i64::MAX);
        let mut conn = self.conn.clone();
        let alive: usize = redis::cmd("ZCOUNT")
            .arg(self.config.workers_set())
            .arg(since)
            .arg("+inf")
            .query_async(&mut conn)
            .await?;
        Ok(alive)
    }

    /// The storage a consuming worker polls, with the liveness settings made explicit.
    pub fn storage(&self, settings: &ConsumerSettings) -> RedisStorage<PublishJob> {
        RedisStorage::new(self.conn.clone()).with_config(apalis_config(&self.keys, settings))
    }
}

/// A job's id: its delivery and the instant it is for. Pushing a job whose twin is still in
/// Redis (waiting, scheduled or running) changes nothing (apalis-redis stores job data with
/// `HSETNX`), so the sweeper can re-dispatch an overdue delivery every tick without piling up
/// copies behind a backlog; a retry or a rate-limit wait is for another instant, so it is a
/// job of its own.
fn job_id(job: &PublishJob, run_at: DateTime<Utc>) -> TaskId {
    TaskId::from_string(format!("{}@{}", job.delivery_id, run_at.timestamp_millis()))
}

/// Jobs waiting in Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueDepth {
    pub waiting: usize,
    pub scheduled: usize,
}

fn apalis_config(keys: &RedisKeys, settings: &ConsumerSettings) -> ApalisConfig {
    ApalisConfig::default()
        .queue(keys.queue(PUBLISH_QUEUE))
        .heartbeat_interval(settings.heartbeat)
        .missed_heartbeats(settings.missed_heartbeats)
        .batch_size(settings.batch_size.max(1))
        // Results go to Postgres; "on" only so a finished id leaves the in-flight set.
        .persist_results(true)
        // Locks are a per-job round trip that only writes metadata nobody reads: the
        // in-flight set (written by fetch) is what orphan recovery uses.
        .lock_tasks(false)
        .emit_events(false)
}

/// Moves up to ARGV[2] scheduled ids whose second is at most ARGV[1] to the waiting list
/// and signals waiting workers, as apalis' fetch does for all of them at once.
const PROMOTE_DUE: &str = r"
local ids = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #ids == 0 then return 0 end
redis.call('rpush', KEYS[2], unpack(ids))
redis.call('zrem', KEYS[1], unpack(ids))
redis.call('del', KEYS[3])
redis.call('lpush', KEYS[3], 1)
return #ids
";

/// Pops finished ids and deletes their data and metadata. All keys share the queue's hash
/// tag; metadata keys are `<meta>:<id>` under the same tag.
const TRIM_COMPLETED: &str = r"
local removed = 0
local limit = tonumber(ARGV[1])
for _, set in ipairs({KEYS[1], KEYS[2]}) do
  if removed >= limit then break end
  local ids = redis.call('spop', set, limit - removed)
  for _, id in ipairs(ids) do
    redis.call('hdel', KEYS[3], id)
    redis.call('del', KEYS[4] .. ':' .. id)
    removed = removed + 1
  end
end
return removed
";
