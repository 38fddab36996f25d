//! Fleet-wide short-window limits, kept in Redis (docs/rate-limits.md, layer 2).
//!
//! **GCRA.** The generic cell rate algorithm keeps one number per limit: the *theoretical
//! arrival time* (TAT) of the next request if requests came exactly at the allowed rate. A
//! limit of `L` per period `P` has an emission interval `T = P / L` and a burst tolerance
//! `tau = P - T`, so up to `L` requests may come at once and then one every `T`. A request
//! at `now` is allowed when `TAT - now <= tau`; it then moves TAT to `max(TAT, now) + T`.
//! Denied, it learns exactly when it would be allowed: `TAT - tau`. The whole check-and-set
//! is one Lua script, so it is atomic across every worker process; time is Redis' own clock
//! (`TIME`), so workers with skewed clocks still agree. It is what redis-cell implements as a
//! module; the caller reschedules the job for the retry time instead of sleeping.
//!
//! **Blocked-until.** A platform's own signal (a 429 with a reset header, Graph codes
//! 4/17/32/613, Telegram `retry_after`) outranks any estimate: it is written to a shared key
//! for that account or app, holding the instant the block ends, and every worker checks it
//! before calling the platform. A later signal only ever extends a block.
//!
//! Each limit is its own key with its own hash tag, and each script touches one key, so both
//! work on a Redis Cluster.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use herald_domain::Platform;
use redis::aio::ConnectionManager;

use crate::{QueueError, RedisKeys};

/// One GCRA limit: `limit` requests per `period` for (platform, scope), where scope is e.g.
/// `account:<id>` or `app:<client id>`.
#[derive(Debug, Clone)]
pub struct Gcra<'a> {
    pub platform: Platform,
    pub scope: &'a str,
    pub limit: u32,
    pub period: Duration,
}

/// A limit that belongs to no platform: `limit` events per `period` for `scope`, e.g. the
/// API's failed authentications per client address. The same GCRA as [`Gcra`], under its
/// own key.
#[derive(Debug, Clone)]
pub struct Throttle<'a> {
    pub scope: &'a str,
    pub limit: u32,
    pub period: Duration,
}

/// What the limiter answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GcraDecision {
    Allowed,
    /// Over the limit; a request would be allowed at `retry_at`.
    Denied {
        retry_at: DateTime<Utc>,
    },
}

/// The Redis limiter and blocked-until keys. Cheap to clone.
#[derive(Clone)]
pub struct RateLimiter {
    conn: ConnectionManager,
    keys: RedisKeys,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("prefix", &self.keys.prefix())
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    pub fn new(conn: ConnectionManager, keys: RedisKeys) -> Self {
        Self { conn, keys }
    }

    /// Takes one cell of `limit` if there is one.
    pub async fn acquire(&self, limit: &Gcra<'_>) -> Result<GcraDecision, QueueError> {
        self.gcra(
            self.keys.limit(limit.platform, limit.scope),
            limit.limit,
            limit.period,
        )
        .await
    }

    /// Takes one cell of `throttle` if there is one.
    pub async fn throttle(&self, throttle: &Throttle<'_>) -> Result<GcraDecision, QueueError> {
        self.gcra(
            self.keys.throttle(throttle.scope),
            throttle.limit,
            throttle.period,
        )
        .await
    }

    /// One GCRA check-and-set on `key`: `limit` per `period`, 0 meaning no limit.
    async fn gcra(
        &self,
        key: String,
        limit: u32,
        period: Duration,
    ) -> Result<GcraDecision, QueueError> {
        if limit == 0 {
            return Ok(GcraDecision::Allowed);
        }
        let period_ms = u64::try_from(period.as_millis()).unwrap_or(u64::MAX).max(1);
        let interval_ms = (period_ms / u64::from(limit)).max(1);
        let tolerance_ms = period_ms.saturating_sub(interval_ms);
        let mut conn = self.conn.clone();
        let (allowed, retry_at_ms): (i64, i64) = redis::Script::new(GCRA)
            .key(key)
            .arg(interval_ms)
            .arg(tolerance_ms)
            .invoke_async(&mut conn)
            .await?;
        Ok(if allowed == 1 {
            GcraDecision::Allowed
        } else {
            GcraDecision::Denied {
                retry_at: from_millis(retry_at_ms),
            }
        })
    }

    /// Records that the platform asked us to stop calling (platform, scope) until `until`.
    /// Only ever extends an existing block.
    pub async fn block(
        &self,
        platform: Platform,
        scope: &str,
        until: DateTime<Utc>,
    ) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        let _: i64 = redis::Script::new(BLOCK)
            .key(self.keys.blocked_until(platform, scope))
            .arg(until.timestamp_millis())
            .invoke_async(&mut conn)
            .await?;
        Ok(())
    }

    /// The latest block among `scopes` that has not ended yet.
    pub async fn blocked_until(
        &self,
        platform: Platform,
        scopes: &[&str],
    ) -> Result<Option<DateTime<Utc>>, QueueError> {
        if scopes.is_empty() {
            return Ok(None);
        }
        let keys: Vec<String> = scopes
            .iter()
            .map(|scope| self.keys.blocked_until(platform, scope))
            .collect();
        let mut conn = self.conn.clone();
        // One GET per key: the keys live in different slots, so no MGET on a Cluster.
        let mut pipe = redis::pipe();
        for key in &keys {
            pipe.get(key);
        }
        let values: Vec<Option<i64>> = pipe.query_async(&mut conn).await?;
        let now = Utc::now();
        Ok(values
            .into_iter()
            .flatten()
            .map(from_millis)
            .filter(|until| *until > now)
            .max())
    }
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or_else(Utc::now)
}

/// KEYS[1]: the TAT key. ARGV[1]: emission interval (ms). ARGV[2]: burst tolerance (ms).
/// Returns {1, 0} when allowed, {0, retry_at_ms} when not.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now > tolerance then
  return {0, tat - tolerance}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now)
return {1, 0}
";

/// KEYS[1]: the blocked-until key. ARGV[1]: the end of the block (epoch ms).
const BLOCK: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untl = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or 0)
if untl <= now or untl <= current then return 0 end
redis.call('SET', KEYS[1], untl, 'PX', untl - now)
return 1
";
