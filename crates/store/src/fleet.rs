//! Counts across every tenant, for the gauges `/metrics` reads at each scrape: what is due
//! and waiting for a worker, and how healthy the connections' tokens are. Every API instance
//! answers from Postgres, so each reports the same truth about the fleet; the dashboards and
//! alerts under `deploy/` are built on these numbers.

use chrono::{DateTime, Utc};
use herald_domain::Platform;
use sqlx::PgPool;

use crate::error::{StoreError, parse_stored};

/// A token Herald cannot refresh counts as expiring this long before it expires.
pub const EXPIRING_WITHIN: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// The deliveries of one platform that are due and not running.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DueCount {
    pub platform: Platform,
    pub count: i64,
    /// The `run_at` of the one due the longest.
    pub oldest_run_at: DateTime<Utc>,
}

/// How healthy a connection's token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenHealth {
    /// Active, and either refreshable or not expiring within [`EXPIRING_WITHIN`].
    Ok,
    /// Active, but its token expires within [`EXPIRING_WITHIN`] (or has expired) and Herald
    /// cannot refresh it (X and LinkedIn without a refresh token): the owner must reconnect
    /// before then.
    Expiring,
    /// The platform refused the token for good: the owner must reconnect.
    NeedsReconnect,
}

impl TokenHealth {
    pub const ALL: [TokenHealth; 3] = [
        TokenHealth::Ok,
        TokenHealth::Expiring,
        TokenHealth::NeedsReconnect,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            TokenHealth::Ok => "ok",
            TokenHealth::Expiring => "expiring",
            TokenHealth::NeedsReconnect => "needs_reconnect",
        }
    }

    fn parse(value: &str) -> Result<Self, StoreError> {
        Self::ALL
            .into_iter()
            .find(|health| health.as_str() == value)
            .ok_or_else(|| StoreError::corrupt("token health", &value))
    }
}

/// How many connections of one platform have one token health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthCount {
    pub platform: Platform,
    pub health: TokenHealth,
    pub count: i64,
}

/// Fleet-wide counts (see the module docs).
#[derive(Debug)]
pub struct Fleet<'a> {
    pool: &'a PgPool,
}

impl<'a> Fleet<'a> {
    pub(crate) fn new(pool: &'a PgPool) -> Self {
        Self { pool }
    }

    /// Claimable deliveries whose `run_at` has come, by platform (platforms with none left
    /// out): the backlog workers have not picked up yet, and how long its oldest has waited.
    pub async fn due_deliveries(&self) -> Result<Vec<DueCount>, StoreError> {
        let rows = sqlx::query!(
            r#"SELECT platform, count(*) AS "count!", min(run_at) AS "oldest!"
               FROM deliveries
               WHERE state IN ('scheduled', 'queued', 'retrying', 'rate_limited')
                 AND run_at <= now()
               GROUP BY platform ORDER BY platform"#
        )
        .fetch_all(self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(DueCount {
                    platform: parse_stored("platform", &r.platform)?,
                    count: r.count,
                    oldest_run_at: r.oldest,
                })
            })
            .collect()
    }

    /// Connections that are not disabled, by platform and token health (empty pairs left
    /// out).
    pub async fn connection_health(&self) -> Result<Vec<HealthCount>, StoreError> {
        let rows = sqlx::query!(
            r#"SELECT platform,
                      CASE
                          WHEN status = 'needs_reconnect' THEN 'needs_reconnect'
                          WHEN refresh_token IS NULL AND platform IN ('twitter', 'linkedin')
                               AND token_expires_at <= now() + $1::bigint * interval '1 second'
                              THEN 'expiring'
                          ELSE 'ok'
                      END AS "health!",
                      count(*) AS "count!"
               FROM connections
               WHERE status <> 'disabled'
               GROUP BY 1, 2 ORDER BY 1, 2"#,
            EXPIRING_WITHIN.num_seconds()
        )
        .fetch_all(self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(HealthCount {
                    platform: parse_stored("platform", &r.platform)?,
                    health: TokenHealth::parse(&r.health)?,
                    count: r.count,
                })
            })
            .collect()
    }
}
