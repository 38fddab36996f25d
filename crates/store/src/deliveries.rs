//! Deliveries: one post on one connection, the unit a worker publishes.
//!
//! This module holds the row types and the reads. Every write that changes a delivery's
//! state lives in `deliveries/transitions.rs` and is one guarded statement.

use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_domain::{
    ConnectionId, DeliveryId, DeliveryState, ErrorClass, Platform, PlatformFailure, PostContent,
    PostId, TenantId,
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{StoreError, parse_stored};
use crate::millis;

pub(crate) mod transitions;

pub use transitions::{Attempts, Claimed, DueDelivery, ExpiredLease, Outcome, Transition};
pub(crate) use transitions::{transition_many_on, validate as validate_transitions};

/// A delivery as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub post_id: PostId,
    pub tenant_id: TenantId,
    pub connection_id: ConnectionId,
    pub platform: Platform,
    /// This target's override of the post's content, if it has one.
    pub content: Option<PostContent>,
    pub state: DeliveryState,
    /// Runs so far (a claim takes an attempt; a rate-limit wait, a shutdown checkpoint and a
    /// run cut short by its worker's death give it back).
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub remote_id: Option<String>,
    pub public_url: Option<String>,
    pub degraded: Vec<String>,
    pub error: Option<DeliveryError>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// The last error of a delivery: its class, the platform's code and message, and a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryError {
    pub class: ErrorClass,
    pub code: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl From<&PlatformFailure> for DeliveryError {
    fn from(failure: &PlatformFailure) -> Self {
        Self {
            class: failure.class,
            code: failure.code(),
            message: failure.message.clone(),
            hint: failure.hint.clone(),
        }
    }
}

/// One state change of a delivery, as recorded in `delivery_events`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryEvent {
    /// Increasing, but a later commit can carry a smaller id than one already read: readers
    /// following the log should re-read a short window behind their cursor.
    pub id: i64,
    pub delivery_id: DeliveryId,
    pub tenant_id: TenantId,
    /// `None` for the event that created the delivery.
    pub from: Option<DeliveryState>,
    pub to: DeliveryState,
    pub detail: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// How many deliveries are on one platform in one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryCount {
    pub platform: Platform,
    pub state: DeliveryState,
    pub count: i64,
}

impl DeliveryCount {
    fn parse(platform: &str, state: &str, count: i64) -> Result<Self, StoreError> {
        Ok(Self {
            platform: parse_stored("platform", platform)?,
            state: parse_stored("delivery state", state)?,
            count,
        })
    }
}

/// Which deliveries of a tenant to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub state: Option<DeliveryState>,
    pub platform: Option<Platform>,
    pub connection_id: Option<ConnectionId>,
    pub post_id: Option<PostId>,
    /// Cursor: only deliveries older than this one.
    pub before: Option<DeliveryId>,
    /// Cursor: only deliveries newer than this one (the page before; read oldest first and
    /// answered newest first, like every page).
    pub after: Option<DeliveryId>,
    /// Created at or after.
    pub created_since: Option<DateTime<Utc>>,
    /// Created before.
    pub created_until: Option<DateTime<Utc>>,
}

pub(crate) struct DeliveryRow {
    pub(crate) id: Uuid,
    pub(crate) post_id: Uuid,
    pub(crate) tenant_id: Uuid,
    pub(crate) connection_id: Uuid,
    pub(crate) platform: String,
    pub(crate) content: Option<serde_json::Value>,
    pub(crate) state: String,
    pub(crate) attempts: i32,
    pub(crate) max_attempts: i32,
    pub(crate) run_at: DateTime<Utc>,
    pub(crate) lease_owner: Option<String>,
    pub(crate) lease_expires_at: Option<DateTime<Utc>>,
    pub(crate) remote_id: Option<String>,
    pub(crate) public_url: Option<String>,
    pub(crate) degraded: Vec<String>,
    pub(crate) error_class: Option<String>,
    pub(crate) error_code: Option<String>,
    pub(crate) error_message: Option<String>,
    pub(crate) error_hint: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) finished_at: Option<DateTime<Utc>>,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = StoreError;

    fn try_from(row: DeliveryRow) -> Result<Self, StoreError> {
        let error = match (row.error_class, row.error_message) {
            (Some(class), Some(message)) => Some(DeliveryError {
                class: parse_stored("error class", &class)?,
                code: row.error_code,
                message,
                hint: row.error_hint,
            }),
            _ => None,
        };
        Ok(Self {
            id: row.id.into(),
            post_id: row.post_id.into(),
            tenant_id: row.tenant_id.into(),
            connection_id: row.connection_id.into(),
            platform: parse_stored("platform", &row.platform)?,
            content: row.content.map(parse_content).transpose()?,
            state: parse_stored("delivery state", &row.state)?,
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            run_at: row.run_at,
            lease_owner: row.lease_owner,
            lease_expires_at: row.lease_expires_at,
            remote_id: row.remote_id,
            public_url: row.public_url,
            degraded: row.degraded,
            error,
            created_at: row.created_at,
            updated_at: row.updated_at,
            finished_at: row.finished_at,
        })
    }
}

pub(crate) fn parse_content(value: serde_json::Value) -> Result<PostContent, StoreError> {
    serde_json::from_value(value).map_err(|e| StoreError::corrupt("post content", &e))
}

#[derive(Debug, Clone, Copy)]
pub struct Deliveries<'a> {
    pool: &'a PgPool,
}

impl<'a> Deliveries<'a> {
    pub(crate) fn new(pool: &'a PgPool) -> Self {
        Self { pool }
    }

    /// A delivery by id, whichever tenant it belongs to: for the worker and the sweeper,
    /// which act for every tenant. A tenant's request reads with [`Deliveries::get_for_tenant`].
    pub async fn get(&self, id: DeliveryId) -> Result<Option<Delivery>, StoreError> {
        let row = sqlx::query_as!(
            DeliveryRow,
            "SELECT id, post_id, tenant_id, connection_id, platform, content, state, attempts,
                    max_attempts, run_at, lease_owner, lease_expires_at, remote_id, public_url,
                    degraded, error_class, error_code, error_message, error_hint, created_at,
                    updated_at, finished_at
             FROM deliveries WHERE id = $1",
            id.into_uuid()
        )
        .fetch_optional(self.pool)
        .await?;
        row.map(Delivery::try_from).transpose()
    }

    /// A delivery of `tenant_id`: another tenant's delivery is not found.
    pub async fn get_for_tenant(
        &self,
        tenant_id: TenantId,
        id: DeliveryId,
    ) -> Result<Option<Delivery>, StoreError> {
        let row = sqlx::query_as!(
            DeliveryRow,
            "SELECT id, post_id, tenant_id, connection_id, platform, content, state, attempts,
                    max_attempts, run_at, lease_owner, lease_expires_at, remote_id, public_url,
                    degraded, error_class, error_code, error_message, error_hint, created_at,
                    updated_at, finished_at
             FROM deliveries WHERE id = $1 AND tenant_id = $2",
            id.into_uuid(),
            tenant_id.into_uuid()
        )
        .fetch_optional(self.pool)
        .await?;
        row.map(Delivery::try_from).transpose()
    }

    /// How many deliveries of `tenant_id` are in each (platform, state), the empty ones left
    /// out.
    pub async fn count_by_state(
        &self,
        tenant_id: TenantId,
    ) -> Result<Vec<DeliveryCount>, StoreError> {
        let rows = sqlx::query!(
            r#"SELECT platform, state, count(*) AS "count!" FROM deliveries
               WHERE tenant_id = $1
               GROUP BY platform, state ORDER BY platform, state"#,
            tenant_id.into_uuid()
        )
        .fetch_all(self.pool)
        .await?;
        rows.into_iter()
            .map(|r| DeliveryCount::parse(&r.platform, &r.state, r.count))
            .collect()
    }

    /// How many deliveries of every tenant are in each (platform, state), the empty ones
    /// left out: the fleet's gauges.
    pub async fn count_by_state_all_tenants(&self) -> Result<Vec<DeliveryCount>, StoreError> {
        let rows = sqlx::query!(
            r#"SELECT platform, state, count(*) AS "count!" FROM deliveries
               GROUP BY platform, state ORDER BY platform, state"#
        )
        .fetch_all(self.pool)
        .await?;
        rows.into_iter()
            .map(|r| DeliveryCount::parse(&r.platform, &r.state, r.count))
            .collect()
    }

    /// How many deliveries of `tenant_id` were published within the last `window`.
    pub async fn published_within(
        &self,
        tenant_id: TenantId,
        window: Duration,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar!(
            r#"SELECT count(*) AS "count!" FROM delivery_events
               WHERE tenant_id = $1 AND to_state = 'published'
                 AND at > now() - $2::bigint * interval '1 millisecond'"#,
            tenant_id.into_uuid(),
            millis(window)
        )
        .fetch_one(self.pool)
        .await?)
    }

    /// The id of the newest event of `tenant_id` (0 when it has none): a live feed that
    /// starts now follows the events after it.
    pub async fn last_event_id(&self, tenant_id: TenantId) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar!(
            r#"SELECT coalesce(max(id), 0)::bigint AS "id!" FROM delivery_events
               WHERE tenant_id = $1"#,
            tenant_id.into_uuid()
        )
        .fetch_one(self.pool)
        .await?)
    }

    /// A tenant's deliveries matching `filter`, newest first, at most `limit`: the `limit`
    /// newest, or with [`DeliveryFilter::after`] the `limit` oldest newer than it.
    pub async fn list(
        &self,
        tenant_id: TenantId,
        filter: &DeliveryFilter,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let rows = sqlx::query_as!(
            DeliveryRow,
            "SELECT id, post_id, tenant_id, connection_id, platform, content, state, attempts,
                    max_attempts, run_at, lease_owner, lease_expires_at, remote_id, public_url,
                    degraded, error_class, error_code, error_message, error_hint, created_at,
                    updated_at, finished_at
             FROM deliveries
             WHERE tenant_id = $1
               AND ($2::text IS NULL OR state = $2)
               AND ($3::text IS NULL OR platform = $3)
               AND ($4::uuid IS NULL OR connection_id = $4)
               AND ($5::uuid IS NULL OR post_id = $5)
               AND ($6::uuid IS NULL OR id < $6)
               AND ($7::uuid IS NULL OR id > $7)
               AND ($8::timestamptz IS NULL OR created_at >= $8)
               AND ($9::timestamptz IS NULL OR created_at < $9)
             ORDER BY CASE WHEN $7::uuid IS NOT NULL THEN id END ASC, id DESC
             LIMIT $10",
            tenant_id.into_uuid(),
            filter.state.map(DeliveryState::as_str),
            filter.platform.map(Platform::as_str),
            filter.connection_id.map(ConnectionId::into_uuid),
            filter.post_id.map(PostId::into_uuid),
            filter.before.map(DeliveryId::into_uuid),
            filter.after.map(DeliveryId::into_uuid),
            filter.created_since,
            filter.created_until,
            limit
        )
        .fetch_all(self.pool)
        .await?;
        let mut list = rows
            .into_iter()
            .map(Delivery::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        if filter.after.is_some() {
            list.reverse();
        }
        Ok(list)
    }

    /// The deliveries of some posts, in post then creation order.
    pub async fn of_posts(&self, post_ids: &[PostId]) -> Result<Vec<Delivery>, StoreError> {
        let ids: Vec<Uuid> = post_ids.iter().map(|id| id.into_uuid()).collect();
        let rows = sqlx::query_as!(
            DeliveryRow,
            "SELECT id, post_id, tenant_id, connection_id, platform, content, state, attempts,
                    max_attempts, run_at, lease_owner, lease_expires_at, remote_id, public_url,
                    degraded, error_class, error_code, error_message, error_hint, created_at,
                    updated_at, finished_at
             FROM deliveries WHERE post_id = ANY($1)
             ORDER BY post_id, id",
            &ids
        )
        .fetch_all(self.pool)
        .await?;
        rows.into_iter().map(Delivery::try_from).collect()
    }

    /// The state changes of one delivery, oldest first.
    pub async fn events(&self, delivery_id: DeliveryId) -> Result<Vec<DeliveryEvent>, StoreError> {
        let rows = sqlx::query_as!(
            EventRow,
            "SELECT id, delivery_id, tenant_id, from_state, to_state, detail, at
             FROM delivery_events WHERE delivery_id = $1 ORDER BY id",
            delivery_id.into_uuid()
        )
        .fetch_all(self.pool)
        .await?;
        rows.into_iter().map(DeliveryEvent::try_from).collect()
    }

    /// A tenant's events after the cursor `after_id`, oldest first: the feed behind SSE and
    /// webhooks.
    pub async fn events_after(
        &self,
        tenant_id: TenantId,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<DeliveryEvent>, StoreError> {
        let rows = sqlx::query_as!(
            EventRow,
            "SELECT id, delivery_id, tenant_id, from_state, to_state, detail, at
             FROM delivery_events WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            tenant_id.into_uuid(),
            after_id,
            limit
        )
        .fetch_all(self.pool)
        .await?;
        rows.into_iter().map(DeliveryEvent::try_from).collect()
    }
}

struct EventRow {
    id: i64,
    delivery_id: Uuid,
    tenant_id: Uuid,
    from_state: Option<String>,
    to_state: String,
    detail: serde_json::Value,
    at: DateTime<Utc>,
}

impl TryFrom<EventRow> for DeliveryEvent {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id,
            delivery_id: row.delivery_id.into(),
            tenant_id: row.tenant_id.into(),
            from: row
                .from_state
                .as_deref()
                .map(|s| parse_stored("delivery state", s))
                .transpose()?,
            to: parse_stored("delivery state", &row.to_state)?,
            detail: row.detail,
            at: row.at,
        })
    }
}
