//! The delivery journal: how a post is published once although jobs run at least once.
//!
//! Before every platform call that is not idempotent (a media upload, a container, the
//! publish, thread part N) the worker writes the step as `sending`; after the call it records
//! `done` with the remote id the platform gave, or `failed` when the platform refused.
//! A retry walks the same steps and [`Journal::begin`] tells it, per step:
//!
//! - `Started`: nothing recorded (or the previous try was refused): make the call.
//! - `AlreadyDone`: a previous attempt finished it: reuse its remote id, do not call again.
//! - `OutcomeUnknown`: a previous attempt began the call and never recorded an outcome (a
//!   crash, a timeout). It may have taken effect, so it is resolved by looking the post up
//!   on the platform, never by calling again.
//!
//! Steps are keyed by (delivery, step name), so two attempts cannot both start one step:
//! whoever inserts the row owns the call. `complete` and `fail` only move `sending` rows.

use chrono::{DateTime, Utc};
use herald_domain::{DeliveryId, StepState};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{StoreError, parse_stored};

/// A journal row.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub delivery_id: DeliveryId,
    /// `media:0`, `container`, `publish`, `part:1`, ...
    pub step: String,
    pub state: StepState,
    pub remote_id: Option<String>,
    pub detail: Option<serde_json::Value>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// What [`Journal::begin`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum StepStart {
    /// The step is now `sending`: make the call, then `complete` or `fail` it.
    Started(Step),
    /// Done by an earlier attempt: reuse `remote_id`.
    AlreadyDone(Step),
    /// Begun by an earlier attempt with no recorded outcome: resolve by lookup.
    OutcomeUnknown(Step),
}

pub(crate) struct StepRow {
    pub(crate) delivery_id: Uuid,
    pub(crate) step: String,
    pub(crate) state: String,
    pub(crate) remote_id: Option<String>,
    pub(crate) detail: Option<serde_json::Value>,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) finished_at: Option<DateTime<Utc>>,
}

impl TryFrom<StepRow> for Step {
    type Error = StoreError;

    fn try_from(row: StepRow) -> Result<Self, StoreError> {
        Ok(Self {
            delivery_id: row.delivery_id.into(),
            step: row.step,
            state: parse_stored("step state", &row.state)?,
            remote_id: row.remote_id,
            detail: row.detail,
            started_at: row.started_at,
            finished_at: row.finished_at,
        })
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Journal<'a> {
    pool: &'a PgPool,
}

impl<'a> Journal<'a> {
    pub(crate) fn new(pool: &'a PgPool) -> Self {
        Self { pool }
    }

    /// Records that `step` of `delivery_id` is about to be sent, unless an earlier attempt
    /// already did it or may have. See the module docs for what each answer means.
    pub async fn begin(
        &self,
        delivery_id: DeliveryId,
        step: &str,
        detail: Option<&serde_json::Value>,
    ) -> Result<StepStart, StoreError> {
        validate_step_name(step)?;
        // Two rounds at most: a `failed` row can only turn into `sending` between our two
        // statements if someone else retried the step, and then the second round sees it.
        for _ in 0..2 {
            let started = sqlx::query_as!(
                StepRow,
                "INSERT INTO delivery_steps (delivery_id, step, state, detail)
                 VALUES ($1, $2, 'sending', $3)
                 ON CONFLICT (delivery_id, step) DO UPDATE
                     SET state = 'sending', remote_id = NULL, detail = EXCLUDED.detail,
                         started_at = now(), finished_at = NULL
                     WHERE delivery_steps.state = 'failed'
                 RETURNING delivery_id, step, state, remote_id, detail, started_at, finished_at",
                delivery_id.into_uuid(),
                step,
                detail
            )
            .fetch_optional(self.pool)
            .await?;
            if let Some(row) = started {
                return Ok(StepStart::Started(row.try_into()?));
            }
            let existing = sqlx::query_as!(
                StepRow,
                "SELECT delivery_id, step, state, remote_id, detail, started_at, finished_at
                 FROM delivery_steps WHERE delivery_id = $1 AND step = $2",
                delivery_id.into_uuid(),
                step
            )
            .fetch_optional(self.pool)
            .await?;
            if let Some(row) = existing {
                let row = Step::try_from(row)?;
                match row.state {
                    StepState::Done => return Ok(StepStart::AlreadyDone(row)),
                    StepState::Sending => return Ok(StepStart::OutcomeUnknown(row)),
                    StepState::Failed => {}
                }
            }
        }
        Err(StoreError::InvalidInput(format!(
            "step `{step}` of delivery {delivery_id} is being retried concurrently"
        )))
    }

    /// Records that a `sending` step took effect, with the id the platform gave it. Returns
    /// false when the step was not `sending` (never begun, or already resolved).
    pub async fn complete(
        &self,
        delivery_id: DeliveryId,
        step: &str,
        remote_id: Option<&str>,
        detail: Option<&serde_json::Value>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query!(
            "UPDATE delivery_steps
             SET state = 'done', remote_id = $3, detail = COALESCE($4, detail),
                 finished_at = now()
             WHERE delivery_id = $1 AND step = $2 AND state = 'sending'",
            delivery_id.into_uuid(),
            step,
            remote_id,
            detail
        )
        .execute(self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Records that a `sending` step did not take effect (the platform refused it, or a
    /// lookup found nothing), so a later attempt may send it again. Returns false when the
    /// step was not `sending`.
    pub async fn fail(
        &self,
        delivery_id: DeliveryId,
        step: &str,
        detail: Option<&serde_json::Value>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query!(
            "UPDATE delivery_steps
             SET state = 'failed', detail = COALESCE($3, detail), finished_at = now()
             WHERE delivery_id = $1 AND step = $2 AND state = 'sending'",
            delivery_id.into_uuid(),
            step,
            detail
        )
        .execute(self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Records what a lookup found out about `step`, a `sending` row read earlier
    /// ([`Journal::unresolved_pending`]): `Some(remote_id)` done, `None` failed (it may be
    /// sent again). Only that same row moves: if the step was resolved meanwhile, or an
    /// attempt has begun it again since (a new `started_at`), nothing changes and false is
    /// returned, so a late lookup never overrides what a running attempt is doing.
    pub async fn settle(
        &self,
        step: &Step,
        remote_id: Option<&str>,
        detail: Option<&serde_json::Value>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query!(
            "UPDATE delivery_steps
             SET state = CASE WHEN $3::text IS NULL THEN 'failed' ELSE 'done' END,
                 remote_id = $3, detail = COALESCE($4, detail), finished_at = now()
             WHERE delivery_id = $1 AND step = $2 AND state = 'sending' AND started_at = $5",
            step.delivery_id.into_uuid(),
            step.step,
            remote_id,
            detail,
            step.started_at
        )
        .execute(self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// The steps of a delivery in the order they began.
    pub async fn steps(&self, delivery_id: DeliveryId) -> Result<Vec<Step>, StoreError> {
        let rows = sqlx::query_as!(
            StepRow,
            "SELECT delivery_id, step, state, remote_id, detail, started_at, finished_at
             FROM delivery_steps WHERE delivery_id = $1 ORDER BY started_at, step",
            delivery_id.into_uuid()
        )
        .fetch_all(self.pool)
        .await?;
        rows.into_iter().map(Step::try_from).collect()
    }

    /// `sending` steps whose delivery no worker is running: calls that may or may not have
    /// happened, for the sweeper to resolve by lookup. Oldest first.
    pub async fn unresolved(&self, limit: i64) -> Result<Vec<Step>, StoreError> {
        let rows = sqlx::query_as!(
            StepRow,
            "SELECT s.delivery_id, s.step, s.state, s.remote_id, s.detail, s.started_at,
                    s.finished_at
             FROM delivery_steps s JOIN deliveries d ON d.id = s.delivery_id
             WHERE s.state = 'sending' AND d.state <> 'running'
             ORDER BY s.started_at
             LIMIT $1",
            limit
        )
        .fetch_all(self.pool)
        .await?;
        rows.into_iter().map(Step::try_from).collect()
    }
}

impl Journal<'_> {
    /// `sending` steps of deliveries waiting for another attempt (not running, not finished),
    /// begun at least `older_than` ago: the sweeper resolves these by lookup so the next
    /// attempt knows whether to send again. Oldest first.
    pub async fn unresolved_pending(
        &self,
        older_than: std::time::Duration,
        limit: i64,
    ) -> Result<Vec<Step>, StoreError> {
        let rows = sqlx::query_as!(
            StepRow,
            "SELECT s.delivery_id, s.step, s.state, s.remote_id, s.detail, s.started_at,
                    s.finished_at
             FROM delivery_steps s JOIN deliveries d ON d.id = s.delivery_id
             WHERE s.state = 'sending'
               AND d.state IN ('scheduled', 'queued', 'retrying', 'rate_limited')
               AND s.started_at < now() - $1::bigint * interval '1 millisecond'
             ORDER BY s.started_at
             LIMIT $2",
            crate::millis(older_than),
            limit
        )
        .fetch_all(self.pool)
        .await?;
        rows.into_iter().map(Step::try_from).collect()
    }
}

/// Step names are a lowercase word and optional `:`-separated parts (`media:0`, `part:2`).
pub(crate) fn validate_step_name(step: &str) -> Result<(), StoreError> {
    let mut parts = step.split(':');
    let head_ok = parts.next().is_some_and(|head| {
        head.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && head
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    });
    let rest_ok = parts.all(|part| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    });
    if head_ok && rest_ok && step.len() <= 64 {
        Ok(())
    } else {
        Err(StoreError::InvalidInput(format!(
            "journal step name `{}` must look like `publish` or `media:0`",
            step.chars().take(64).collect::<String>()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::validate_step_name;

    #[test]
    fn step_names_follow_the_schema() {
        for good in [
            "publish",
            "media:0",
            "part:12",
            "container",
            "media:0:upload",
        ] {
            assert!(validate_step_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Publish",
            "media:",
            ":0",
            "0media",
            "media 0",
            &"x".repeat(65),
        ] {
            assert!(validate_step_name(bad).is_err(), "{bad}");
        }
    }
}
