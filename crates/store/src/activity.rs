//! What the ops dashboard draws: a tenant's outcomes and publish latency per time bucket,
//! and its waiting deliveries in a time range.
//!
//! Every query is bounded by time (an hour, a day, a week at most, as the caller asks) and
//! reads through an index that starts with the tenant and the time
//! (`migrations/0040_dashboard_activity.sql`), so the cost follows the window, not the
//! history.

use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_domain::{ConnectionId, DeliveryId, DeliveryState, Platform, TenantId};
use sqlx::PgPool;

use crate::error::{StoreError, parse_stored};

/// Outcomes in one time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutcomeBucket {
    /// Where the bucket starts.
    pub start: DateTime<Utc>,
    pub published: i64,
    /// Failed or dead: gave up.
    pub failed: i64,
    /// Sent back to wait for another attempt.
    pub retrying: i64,
}

/// Publish latency in one time bucket: from when a delivery was due (its post's
/// `publish_at`, else when it was created) to when it was published.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyBucket {
    pub start: DateTime<Utc>,
    pub p50_secs: f64,
    pub p95_secs: f64,
    /// How many publications the percentiles are of.
    pub count: i64,
}

/// A delivery that has not run yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upcoming {
    pub id: DeliveryId,
    pub connection_id: ConnectionId,
    pub platform: Platform,
    pub state: DeliveryState,
    pub run_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy)]
pub struct Activity<'a> {
    pool: &'a PgPool,
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX).max(1)
}

impl<'a> Activity<'a> {
    pub(crate) fn new(pool: &'a PgPool) -> Self {
        Self { pool }
    }

    /// `tenant_id`'s outcomes since `since`, counted per `bucket` (buckets aligned on
    /// `since`); buckets without any are left out.
    pub async fn outcomes(
        &self,
        tenant_id: TenantId,
        since: DateTime<Utc>,
        bucket: Duration,
    ) -> Result<Vec<OutcomeBucket>, StoreError> {
        let rows = sqlx::query!(
            r#"SELECT date_bin($3::bigint * interval '1 second', at, $2) AS "start!",
                      count(*) FILTER (WHERE to_state = 'published') AS "published!",
                      count(*) FILTER (WHERE to_state IN ('failed', 'dead')) AS "failed!",
                      count(*) FILTER (WHERE to_state = 'retrying') AS "retrying!"
               FROM delivery_events
               WHERE tenant_id = $1 AND at >= $2
                 AND to_state IN ('published', 'failed', 'dead', 'retrying')
               GROUP BY 1 ORDER BY 1"#,
            tenant_id.into_uuid(),
            since,
            secs(bucket)
        )
        .fetch_all(self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| OutcomeBucket {
                start: r.start,
                published: r.published,
                failed: r.failed,
                retrying: r.retrying,
            })
            .collect())
    }

    /// `tenant_id`'s publish latency since `since`, per `bucket` of publication time.
    pub async fn latency(
        &self,
        tenant_id: TenantId,
        since: DateTime<Utc>,
        bucket: Duration,
    ) -> Result<Vec<LatencyBucket>, StoreError> {
        let rows = sqlx::query!(
            r#"WITH published AS (
                   SELECT e.at,
                          greatest(0, extract(epoch FROM e.at - coalesce(p.publish_at, d.created_at)))::float8
                              AS secs
                   FROM delivery_events e
                   JOIN deliveries d ON d.id = e.delivery_id
                   JOIN posts p ON p.id = d.post_id
                   WHERE e.tenant_id = $1 AND e.at >= $2 AND e.to_state = 'published'
               )
               SELECT date_bin($3::bigint * interval '1 second', at, $2) AS "start!",
                      percentile_cont(0.5) WITHIN GROUP (ORDER BY secs) AS "p50!",
                      percentile_cont(0.95) WITHIN GROUP (ORDER BY secs) AS "p95!",
                      count(*) AS "count!"
               FROM published GROUP BY 1 ORDER BY 1"#,
            tenant_id.into_uuid(),
            since,
            secs(bucket)
        )
        .fetch_all(self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| LatencyBucket {
                start: r.start,
                p50_secs: r.p50,
                p95_secs: r.p95,
                count: r.count,
            })
            .collect())
    }

    /// `tenant_id`'s deliveries waiting to run in `[from, to)`, soonest first, at most
    /// `limit`.
    pub async fn upcoming(
        &self,
        tenant_id: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Upcoming>, StoreError> {
        let rows = sqlx::query!(
            r#"SELECT id, connection_id, platform, state, run_at FROM deliveries
               WHERE tenant_id = $1 AND run_at >= $2 AND run_at < $3
                 AND state IN ('scheduled', 'queued', 'retrying', 'rate_limited')
               ORDER BY run_at, id LIMIT $4"#,
            tenant_id.into_uuid(),
            from,
            to,
            limit
        )
        .fetch_all(self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(Upcoming {
                    id: DeliveryId::from_uuid(r.id),
                    connection_id: ConnectionId::from_uuid(r.connection_id),
                    platform: parse_stored("platform", &r.platform)?,
                    state: parse_stored("delivery state", &r.state)?,
                    run_at: r.run_at,
                })
            })
            .collect()
    }
}
