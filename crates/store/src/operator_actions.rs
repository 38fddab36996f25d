//! Operators' bulk actions on deliveries, and their journal.
//!
//! A bulk action picks a tenant's deliveries by the deliveries list's filter, in the states
//! the action may leave, and moves each with the same guarded transition as the single
//! action would (the caller builds it), all in one transaction with the journal row that
//! records who did it. At most `cap` deliveries per action, oldest first, so one press holds
//! its row locks briefly; a delivery that changed state between the page and the press is
//! left alone by its transition's guard and counted as such.

use chrono::{DateTime, Utc};
use herald_domain::{
    ApiKeyId, ConnectionId, DeliveryId, DeliveryState, Platform, PostId, TenantId,
};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::deliveries::transitions::transition_many_on;
use crate::deliveries::{DeliveryFilter, Transition};
use crate::error::{StoreError, parse_stored};

/// What a bulk action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BulkKind {
    /// Send failed and dead deliveries back to the queue.
    Retry,
    /// Cancel scheduled deliveries (of one connection, from the dashboard).
    CancelScheduled,
}

impl std::str::FromStr for BulkKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "retry" => Ok(BulkKind::Retry),
            "cancel_scheduled" => Ok(BulkKind::CancelScheduled),
            other => Err(format!("unknown bulk action `{other}`")),
        }
    }
}

impl BulkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkKind::Retry => "retry",
            BulkKind::CancelScheduled => "cancel_scheduled",
        }
    }

    /// The states this action moves deliveries out of.
    pub fn from_states(self) -> &'static [DeliveryState] {
        match self {
            BulkKind::Retry => DeliveryState::RETRYABLE_BY_OPERATOR,
            BulkKind::CancelScheduled => &[DeliveryState::Scheduled],
        }
    }
}

/// One press of a bulk action.
#[derive(Debug, Clone)]
pub struct BulkAction<'a> {
    pub tenant_id: TenantId,
    pub key_id: ApiKeyId,
    pub key_name: Option<&'a str>,
    pub kind: BulkKind,
    pub filter: &'a DeliveryFilter,
    /// The filter as the operator gave it, for the journal.
    pub filter_shown: serde_json::Value,
    /// The most deliveries one press changes.
    pub cap: i64,
}

/// What a bulk action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkOutcome {
    /// The deliveries it picked (at most the cap).
    pub matched: Vec<DeliveryId>,
    /// Those that moved; the others had changed state and were left.
    pub moved: Vec<DeliveryId>,
    /// More deliveries matched than the cap allowed.
    pub more: bool,
}

/// A journal row.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorAction {
    pub id: Uuid,
    pub key_id: ApiKeyId,
    pub key_name: Option<String>,
    pub kind: BulkKind,
    pub filter: serde_json::Value,
    pub matched: i32,
    pub changed: i32,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy)]
pub struct OperatorActions<'a> {
    pool: &'a PgPool,
}

impl<'a> OperatorActions<'a> {
    pub(crate) fn new(pool: &'a PgPool) -> Self {
        Self { pool }
    }

    /// How many of a tenant's deliveries match `filter` (its state, if any, included) and
    /// are in one of `states`: what a bulk action would pick, uncapped.
    pub async fn count(
        &self,
        tenant_id: TenantId,
        filter: &DeliveryFilter,
        states: &[DeliveryState],
    ) -> Result<i64, StoreError> {
        let states: Vec<String> = states.iter().map(|s| s.as_str().to_owned()).collect();
        Ok(sqlx::query_scalar!(
            r#"SELECT count(*) AS "count!" FROM deliveries
               WHERE tenant_id = $1 AND state = ANY($2)
                 AND ($3::text IS NULL OR state = $3)
                 AND ($4::text IS NULL OR platform = $4)
                 AND ($5::uuid IS NULL OR connection_id = $5)
                 AND ($6::uuid IS NULL OR post_id = $6)
                 AND ($7::timestamptz IS NULL OR created_at >= $7)
                 AND ($8::timestamptz IS NULL OR created_at < $8)"#,
            tenant_id.into_uuid(),
            &states,
            filter.state.map(DeliveryState::as_str),
            filter.platform.map(Platform::as_str),
            filter.connection_id.map(ConnectionId::into_uuid),
            filter.post_id.map(PostId::into_uuid),
            filter.created_since,
            filter.created_until,
        )
        .fetch_one(self.pool)
        .await?)
    }

    /// Applies `action`: picks at most `cap` matching deliveries, moves each with
    /// `transition(id)` (which must leave only [`BulkKind::from_states`]), and journals it,
    /// in one transaction.
    pub async fn apply(
        &self,
        action: &BulkAction<'_>,
        transition: impl Fn(DeliveryId) -> Transition,
    ) -> Result<BulkOutcome, StoreError> {
        if action.cap < 1 {
            return Err(StoreError::InvalidInput(
                "a bulk action's cap must be at least 1".to_owned(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        let mut matched = pick(&mut tx, action).await?;
        let more = matched.len() > usize::try_from(action.cap).unwrap_or(usize::MAX);
        matched.truncate(usize::try_from(action.cap).unwrap_or(usize::MAX));
        let transitions: Vec<Transition> = matched.iter().map(|id| transition(*id)).collect();
        let moved = if transitions.is_empty() {
            Vec::new()
        } else {
            transition_many_on(&mut *tx, &transitions).await?
        };
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        sqlx::query!(
            "INSERT INTO operator_actions (id, tenant_id, key_id, key_name, action, filter,
                                           matched, changed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            Uuid::now_v7(),
            action.tenant_id.into_uuid(),
            action.key_id.into_uuid(),
            action.key_name,
            action.kind.as_str(),
            action.filter_shown,
            count(matched.len()),
            count(moved.len())
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(BulkOutcome {
            matched,
            moved,
            more,
        })
    }

    /// A tenant's bulk actions, newest first.
    pub async fn list(
        &self,
        tenant_id: TenantId,
        limit: i64,
    ) -> Result<Vec<OperatorAction>, StoreError> {
        let rows = sqlx::query!(
            "SELECT id, key_id, key_name, action, filter, matched, changed, at
             FROM operator_actions WHERE tenant_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
            tenant_id.into_uuid(),
            limit
        )
        .fetch_all(self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(OperatorAction {
                    id: r.id,
                    key_id: r.key_id.into(),
                    key_name: r.key_name,
                    kind: parse_stored("bulk action", &r.action)?,
                    filter: r.filter,
                    matched: r.matched,
                    changed: r.changed,
                    at: r.at,
                })
            })
            .collect()
    }
}

/// The ids a bulk action picks: `cap + 1` at most (one more says that more are left),
/// oldest first.
async fn pick(
    conn: &mut PgConnection,
    action: &BulkAction<'_>,
) -> Result<Vec<DeliveryId>, StoreError> {
    let filter = action.filter;
    let states: Vec<String> = action
        .kind
        .from_states()
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    let ids = sqlx::query_scalar!(
        "SELECT id FROM deliveries
         WHERE tenant_id = $1 AND state = ANY($2)
           AND ($3::text IS NULL OR state = $3)
           AND ($4::text IS NULL OR platform = $4)
           AND ($5::uuid IS NULL OR connection_id = $5)
           AND ($6::uuid IS NULL OR post_id = $6)
           AND ($7::timestamptz IS NULL OR created_at >= $7)
           AND ($8::timestamptz IS NULL OR created_at < $8)
         ORDER BY id
         LIMIT $9",
        action.tenant_id.into_uuid(),
        &states,
        filter.state.map(DeliveryState::as_str),
        filter.platform.map(Platform::as_str),
        filter.connection_id.map(ConnectionId::into_uuid),
        filter.post_id.map(PostId::into_uuid),
        filter.created_since,
        filter.created_until,
        action.cap.saturating_add(1)
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(ids.into_iter().map(DeliveryId::from).collect())
}
