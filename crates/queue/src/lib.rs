//! Herald's transport: Redis.
//!
//! Postgres is the truth and Redis only carries work (docs/ARCHITECTURE.md): a job holds a delivery
//! id and trace context, nothing that cannot be rebuilt from the store. This crate grows the
//! apalis-redis wiring, the fleet-wide GCRA limiter and the `blocked_until` keys; it starts
//! with the two things every one of them needs: where keys live and how to connect.
//!
//! **Keys.** Every key starts with the deployment's prefix (`HERALD_REDIS_PREFIX`), so several
//! deployments or test runs share one Redis without seeing each other. Keys that one Lua script
//! touches together carry one hash tag (`{prefix:...}`), so the same scripts work on a Redis
//! Cluster, where a script may only touch keys of one slot.
//!
//! **Connections.** redis-rs answers a slow reply after 500 ms with an error by default; under
//! load that has been seen to kill a whole worker pool (apalis-redis#76). Connections here
//! wait longer and reconnect on their own.
//!
//! **Modules.** [`jobs`] pushes and stores publish jobs (apalis-redis, with what it lacks made
//! up for in its header); [`limits`] is the fleet-wide GCRA limiter and the `blocked_until`
//! keys that platform rate signals set.

use std::time::Duration;

pub mod jobs;
pub mod limits;

pub use jobs::{ConsumerSettings, JobQueue, PUBLISH_QUEUE, QueueDepth};
pub use limits::{Gcra, GcraDecision, RateLimiter, Throttle};

use herald_domain::Platform;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Builds every Redis key Herald uses, under one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisKeys {
    prefix: String,
}

impl RedisKeys {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The namespace of a job queue. apalis-redis derives all of a queue's keys (waiting
    /// list, in-flight sets, scheduled set, job data) from it, so the hash tag puts them in one
    /// slot.
    pub fn queue(&self, name: &str) -> String {
        format!("{{{}:queue:{name}}}", self.prefix)
    }

    /// The GCRA state of one limit, e.g. `limit("twitter", "account:123")`. One key per limit,
    /// so each is its own slot.
    pub fn limit(&self, platform: Platform, scope: &str) -> String {
        format!("{{{}:limit:{platform}:{scope}}}", self.prefix)
    }

    /// The GCRA state of a limit that belongs to no platform, e.g.
    /// `throttle("auth-failures:addr:192.0.2.7")`.
    pub fn throttle(&self, scope: &str) -> String {
        format!("{{{}:throttle:{scope}}}", self.prefix)
    }

    /// When a platform told us to stop (a 429 and its reset), for an account or an app.
    pub fn blocked_until(&self, platform: Platform, scope: &str) -> String {
        format!("{{{}:blocked:{platform}:{scope}}}", self.prefix)
    }

    /// A pattern matching every key of this prefix (for tests and `herald` maintenance).
    pub fn all_pattern(&self) -> String {
        format!("{{{}:*", self.prefix)
    }
}

/// How patient a connection is.
#[derive(Debug, Clone, Copy)]
pub struct RedisTimeouts {
    pub connect: Duration,
    pub response: Duration,
}

impl Default for RedisTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            response: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("REDIS_URL is not a valid Redis URL ({0})")]
    InvalidUrl(String),
    #[error("cannot reach Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("the job queue failed: {0}")]
    Apalis(#[from] apalis_redis::Error),
    #[error("a job could not be encoded: {0}")]
    Encode(serde_json::Error),
}

/// A self-reconnecting connection with Herald's timeouts.
pub async fn connect(url: &str, timeouts: RedisTimeouts) -> Result<ConnectionManager, QueueError> {
    // The client's own error can quote the URL and its password: keep only the reason.
    let client = redis::Client::open(url)
        .map_err(|err| QueueError::InvalidUrl(format!("{:?}", err.kind())))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeouts.connect))
        .set_response_timeout(Some(timeouts.response));
    Ok(ConnectionManager::new_with_config(client, config).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_carries_the_prefix_in_a_hash_tag() {
        let keys = RedisKeys::new("test-7");
        assert_eq!(keys.queue("publish"), "{test-7:queue:publish}");
        assert_eq!(
            keys.limit(Platform::Twitter, "account:42"),
            "{test-7:limit:twitter:account:42}"
        );
        assert_eq!(
            keys.blocked_until(Platform::Telegram, "bot:1"),
            "{test-7:blocked:telegram:bot:1}"
        );
        assert_eq!(
            keys.throttle("auth-failures:all"),
            "{test-7:throttle:auth-failures:all}"
        );
        assert!(
            keys.queue("publish")
                .starts_with(&keys.all_pattern()[..keys.all_pattern().len() - 1])
        );
    }
}
