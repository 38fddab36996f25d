//! Hard platform windows, counted in Postgres (docs/rate-limits.md, layer 1).
//!
//! Some limits are long and strict: X allows an account 17 posts a day on the free tier,
//! Threads 250 per 24 hours. Going over is an error on the account, so these windows are
//! counted from `platform_requests`, one row per request that counts, across every worker.
//!
//! The invariant: **a window never overshoots, whatever the number of concurrent callers.**
//! [`Windows::reserve`] counts and inserts inside one transaction that first takes a
//! transaction-scoped advisory lock on (connection, bucket), so reservations for the same
//! window run one after another and each sees the one before it. An advisory lock rather than
//! a lock on the connection row, so reserving never waits behind a token refresh (which holds
//! the row while it calls the platform) and never blocks writes to the connection.
//!
//! A slot is reserved before the request goes out and is never given back: a request that
//! failed or got no answer still counted on the platform's side.

use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_domain::{ConnectionId, DeliveryId};
use sqlx::PgPool;

use crate::error::StoreError;
use crate::millis;

/// The advisory-lock class of window reservations (`HRLD` in ASCII), so the (class, key)
/// pairs cannot meet another use of two-key advisory locks.
const WINDOW_LOCK_CLASS: i32 = 0x4852_4c44;

/// A request about to be sent that counts toward a window.
#[derive(Debug, Clone, Copy)]
pub struct ReserveRequest<'r> {
    pub connection_id: ConnectionId,
    /// Which window: `posts_24h`, `publish_quota`, ...
    pub bucket: &'r str,
    /// The platform endpoint, for the record.
    pub endpoint: &'r str,
    pub delivery_id: Option<DeliveryId>,
    /// How many requests the window holds.
    pub limit: i64,
    /// How long a request counts.
    pub window: Duration,
}

/// The answer to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// A slot is yours: send the request, then record its status.
    Reserved { request_id: i64 },
    /// The window is full until `frees_at`: reschedule, do not send.
    Full { frees_at: DateTime<Utc> },
}

#[derive(Debug, Clone, Copy)]
pub struct Windows<'a> {
    pool: &'a PgPool,
}

impl<'a> Windows<'a> {
    pub(crate) fn new(pool: &'a PgPool) -> Self {
        Self { pool }
    }

    /// Reserves a slot in the window, or says when one frees.
    pub async fn reserve(&self, request: &ReserveRequest<'_>) -> Result<Reservation, StoreError> {
        if request.limit < 1 {
            return Err(StoreError::InvalidInput(format!(
                "window `{}` must hold at least one request",
                request.bucket
            )));
        }
        validate_bucket(request.bucket)?;
        let connection = request.connection_id.into_uuid();
        let window = millis(request.window);
        let mut tx = self.pool.begin().await?;
        sqlx::query!(
            "SELECT pg_advisory_xact_lock($1, hashtext($2::uuid::text || '/' || $3))",
            WINDOW_LOCK_CLASS,
            connection,
            request.bucket
        )
        .execute(&mut *tx)
        .await?;
        let counted = sqlx::query_scalar!(
            r#"SELECT count(*) AS "count!" FROM platform_requests
               WHERE connection_id = $1 AND bucket = $2
                 AND at > clock_timestamp() - $3::bigint * interval '1 millisecond'"#,
            connection,
            request.bucket,
            window
        )
        .fetch_one(&mut *tx)
        .await?;
        if counted >= request.limit {
            // The window frees when enough of the counted requests have aged out for one
            // more to fit: the (counted - limit)-th oldest, plus the window.
            let frees_at = sqlx::query_scalar!(
                r#"SELECT at + $3::bigint * interval '1 millisecond' AS "frees_at!"
                   FROM platform_requests
                   WHERE connection_id = $1 AND bucket = $2
                     AND at > clock_timestamp() - $3::bigint * interval '1 millisecond'
                   ORDER BY at
                   OFFSET $4 LIMIT 1"#,
                connection,
                request.bucket,
                window,
                counted - request.limit
            )
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(Reservation::Full { frees_at });
        }
        let request_id = sqlx::query_scalar!(
            "INSERT INTO platform_requests (connection_id, platform, bucket, endpoint, delivery_id)
             SELECT id, platform, $2, $3, $4 FROM connections WHERE id = $1
             RETURNING id",
            connection,
            request.bucket,
            request.endpoint,
            request.delivery_id.map(DeliveryId::into_uuid)
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::UnknownConnection(request.connection_id))?;
        tx.commit().await?;
        Ok(Reservation::Reserved { request_id })
    }

    /// Records the HTTP status a reserved request got. The slot stays counted either way.
    pub async fn record_status(&self, request_id: i64, status: u16) -> Result<bool, StoreError> {
        let status = i16::try_from(status)
            .map_err(|_| StoreError::InvalidInput(format!("HTTP status {status}")))?;
        let result = sqlx::query!(
            "UPDATE platform_requests SET status = $2 WHERE id = $1",
            request_id,
            status
        )
        .execute(self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Requests of `connection_id` in `bucket` within the last `window`.
    pub async fn count_in_window(
        &self,
        connection_id: ConnectionId,
        bucket: &str,
        window: Duration,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar!(
            r#"SELECT count(*) AS "count!" FROM platform_requests
               WHERE connection_id = $1 AND bucket = $2
                 AND at > clock_timestamp() - $3::bigint * interval '1 millisecond'"#,
            connection_id.into_uuid(),
            bucket,
            millis(window)
        )
        .fetch_one(self.pool)
        .await?)
    }

    /// Requests of `connection_id` in every bucket within the last `window`: how much of
    /// its hard window a connection has used, as its owner is shown.
    pub async fn used_in_window(
        &self,
        connection_id: ConnectionId,
        window: Duration,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar!(
            r#"SELECT count(*) AS "count!" FROM platform_requests
               WHERE connection_id = $1
                 AND at > now() - $2::bigint * interval '1 millisecond'"#,
            connection_id.into_uuid(),
            millis(window)
        )
        .fetch_one(self.pool)
        .await?)
    }

    /// When the oldest request still in the window was made.
    pub async fn oldest_in_window(
        &self,
        connection_id: ConnectionId,
        bucket: &str,
        window: Duration,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(sqlx::query_scalar!(
            "SELECT min(at) FROM platform_requests
             WHERE connection_id = $1 AND bucket = $2
               AND at > clock_timestamp() - $3::bigint * interval '1 millisecond'",
            connection_id.into_uuid(),
            bucket,
            millis(window)
        )
        .fetch_one(self.pool)
        .await?)
    }

    /// Deletes requests older than `older_than` (the longest window in use); returns how
    /// many.
    pub async fn prune(&self, older_than: Duration) -> Result<u64, StoreError> {
        let result = sqlx::query!(
            "DELETE FROM platform_requests
             WHERE at < clock_timestamp() - $1::bigint * interval '1 millisecond'",
            millis(older_than)
        )
        .execute(self.pool)
        .await?;
        Ok(result.rows_affected())
    }
}

fn validate_bucket(bucket: &str) -> Result<(), StoreError> {
    let mut bytes = bucket.bytes();
    let valid = bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b':')
        && bucket.len() <= 64;
    if valid {
        Ok(())
    } else {
        Err(StoreError::InvalidInput(format!(
            "window bucket `{}` must look like `posts_24h`",
            bucket.chars().take(64).collect::<String>()
        )))
    }
}
