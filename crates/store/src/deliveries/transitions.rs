//! Guarded moves of deliveries.
//!
//! The invariant: a delivery's state only changes through a statement whose WHERE clause
//! names the states it may leave (and, for a worker, the lease it must still hold). Rows
//! whose precondition does not hold are left alone and reported as not moved, so a
//! duplicate job, a stale worker or a double click changes nothing. Each move and its
//! `delivery_events` row are written by the same statement, so the event log can never
//! disagree with the state.
//!
//! Batches are one statement too: the inputs travel as parallel arrays and
//! are `UNNEST`ed; rows are locked in id order so two batches cannot deadlock, and the
//! state a row left is read under that lock, so the event names the real `from`.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_domain::{DeliveryId, DeliveryState, PostContent, PostId, TenantId};
use serde_json::json;
use uuid::Uuid;

use super::{Deliveries, Delivery, DeliveryError, DeliveryRow, parse_content};
use crate::error::{StoreError, parse_stored};
use crate::millis;

/// What a transition does to the attempt count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Attempts {
    #[default]
    Keep,
    /// Give back the attempt the claim took: waiting out a rate window costs none.
    Refund,
    /// Start counting again (attempts and interrupted runs): an operator sent a failed
    /// delivery back to the queue.
    Reset,
}

impl Attempts {
    fn as_str(self) -> &'static str {
        match self {
            Attempts::Keep => "keep",
            Attempts::Refund => "refund",
            Attempts::Reset => "reset",
        }
    }
}

/// What a publish produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    pub remote_id: Option<String>,
    pub public_url: Option<String>,
    /// What was given up to get the post out (`media_dropped`, ...). Replaces the stored set.
    pub degraded: Vec<String>,
}

/// One guarded move: `delivery_id` goes to `to` only if it is in one of `from` (and, with
/// `lease_owner`, only if that worker still holds it).
#[derive(Debug, Clone)]
pub struct Transition {
    pub delivery_id: DeliveryId,
    pub from: &'static [DeliveryState],
    pub to: DeliveryState,
    pub lease_owner: Option<String>,
    /// A new `run_at` (a retry's backoff, the end of a rate window).
    pub run_at: Option<DateTime<Utc>>,
    /// Due at once, by the database's clock (an operator's requeue). Wins over `run_at`.
    pub due_now: bool,
    pub attempts: Attempts,
    pub outcome: Option<Outcome>,
    /// Recorded as the delivery's last error. Without one the stored error is kept, except
    /// that `published` clears it.
    pub error: Option<DeliveryError>,
    /// Extra context for the event (merged with the error, outcome and run_at).
    pub detail: serde_json::Map<String, serde_json::Value>,
}

impl Transition {
    pub fn new(delivery_id: DeliveryId, from: &'static [DeliveryState], to: DeliveryState) -> Self {
        Self {
            delivery_id,
            from,
            to,
            lease_owner: None,
            run_at: None,
            due_now: false,
            attempts: Attempts::Keep,
            outcome: None,
            error: None,
            detail: serde_json::Map::new(),
        }
    }

    /// Only while `worker` holds the lease.
    pub fn by_lease_owner(mut self, worker: impl Into<String>) -> Self {
        self.lease_owner = Some(worker.into());
        self
    }

    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(at);
        self
    }

    /// Due at once, by the database's clock.
    pub fn due_now(mut self) -> Self {
        self.due_now = true;
        self
    }

    pub fn attempts(mut self, attempts: Attempts) -> Self {
        self.attempts = attempts;
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = Some(outcome);
        self
    }

    pub fn error(mut self, error: DeliveryError) -> Self {
        self.error = Some(error);
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.detail.insert(key.to_owned(), value.into());
        self
    }
}

/// A delivery a worker now owns, with the content to publish (its override, or the post's).
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub delivery: Delivery,
    pub content: PostContent,
    /// The state it was claimed from.
    pub from: DeliveryState,
    /// Earlier runs cut short by their worker's death (see
    /// [`Deliveries::release_expired_leases`]); they are not counted in `attempts`.
    pub interrupted: i32,
}

/// A delivery that is due and not running, for the sweeper to dispatch again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDelivery {
    pub id: DeliveryId,
    pub state: DeliveryState,
    pub run_at: DateTime<Utc>,
}

/// A running delivery whose worker stopped renewing its lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredLease {
    pub id: DeliveryId,
    pub lease_owner: String,
    pub lease_expires_at: DateTime<Utc>,
    pub attempts: i32,
    pub max_attempts: i32,
}

impl Deliveries<'_> {
    /// Applies one guarded transition; returns whether the delivery moved.
    pub async fn transition(&self, transition: Transition) -> Result<bool, StoreError> {
        Ok(!self.transition_many(&[transition]).await?.is_empty())
    }

    /// Applies a batch of guarded transitions in one statement. Returns the ids that moved;
    /// the others did not meet their precondition and are unchanged. At most one transition
    /// per delivery per batch; `running` is entered only through [`Deliveries::claim`].
    pub async fn transition_many(
        &self,
        transitions: &[Transition],
    ) -> Result<Vec<DeliveryId>, StoreError> {
        transition_many_on(self.pool, transitions).await
    }
}

/// [`Deliveries::transition_many`] on any executor: a group commit runs it inside its
/// transaction.
pub(crate) async fn transition_many_on<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    transitions: &[Transition],
) -> Result<Vec<DeliveryId>, StoreError> {
    validate(transitions)?;
    let ids: Vec<Uuid> = transitions
        .iter()
        .map(|t| t.delivery_id.into_uuid())
        .collect();
    let from: Vec<String> = transitions
        .iter()
        .map(|t| {
            t.from
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    let to: Vec<String> = transitions
        .iter()
        .map(|t| t.to.as_str().to_owned())
        .collect();
    let owners: Vec<Option<String>> = transitions.iter().map(|t| t.lease_owner.clone()).collect();
    let run_at: Vec<Option<DateTime<Utc>>> = transitions.iter().map(|t| t.run_at).collect();
    let due_now: Vec<bool> = transitions.iter().map(|t| t.due_now).collect();
    let attempts: Vec<String> = transitions
        .iter()
        .map(|t| t.attempts.as_str().to_owned())
        .collect();
    let outcome = |f: fn(&Outcome) -> Option<String>| -> Vec<Option<String>> {
        transitions
            .iter()
            .map(|t| t.outcome.as_ref().and_then(f))
            .collect()
    };
    let remote_ids = outcome(|o| o.remote_id.clone());
    let public_urls = outcome(|o| o.public_url.clone());
    let degraded: Vec<Option<serde_json::Value>> = transitions
        .iter()
        .map(|t| t.outcome.as_ref().map(|o| json!(o.degraded)))
        .collect();
    let error = |f: fn(&DeliveryError) -> Option<String>| -> Vec<Option<String>> {
        transitions
            .iter()
            .map(|t| t.error.as_ref().and_then(f))
            .collect()
    };
    let classes = error(|e| Some(e.class.as_str().to_owned()));
    let codes = error(|e| e.code.clone());
    let messages = error(|e| Some(e.message.clone()));
    let hints = error(|e| e.hint.clone());
    let details: Vec<serde_json::Value> = transitions
        .iter()
        .map(|t| serde_json::Value::Object(t.detail.clone()))
        .collect();

    let moved = sqlx::query_scalar!(
            r#"WITH input AS (
                   SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[],
                                        $5::timestamptz[], $6::text[], $7::text[], $8::text[],
                                        $9::jsonb[], $10::text[], $11::text[], $12::text[],
                                        $13::text[], $14::jsonb[], $15::bool[])
                       AS t(id, from_states, to_state, lease_owner, run_at, attempts,
                            remote_id, public_url, degraded, error_class, error_code,
                            error_message, error_hint, detail, due_now)
               ),
               locked AS MATERIALIZED (
                   SELECT d.id, d.state AS from_state
                   FROM deliveries d JOIN input i ON i.id = d.id
                   WHERE d.state = ANY (string_to_array(i.from_states, ','))
                     AND (i.lease_owner IS NULL OR d.lease_owner = i.lease_owner)
                   ORDER BY d.id
                   FOR NO KEY UPDATE OF d
               ),
               moved AS (
                   UPDATE deliveries d SET
                       state = i.to_state,
                       run_at = CASE WHEN i.due_now THEN now()
                                     ELSE COALESCE(i.run_at, d.run_at) END,
                       lease_owner = NULL,
                       lease_expires_at = NULL,
                       attempts = CASE i.attempts WHEN 'refund' THEN greatest(d.attempts - 1, 0)
                                                  WHEN 'reset' THEN 0
                                                  ELSE d.attempts END,
                       interrupted = CASE i.attempts WHEN 'reset' THEN 0 ELSE d.interrupted END,
                       remote_id = COALESCE(i.remote_id, d.remote_id),
                       public_url = COALESCE(i.public_url, d.public_url),
                       degraded = CASE WHEN i.degraded IS NULL THEN d.degraded
                                       ELSE ARRAY(SELECT jsonb_array_elements_text(i.degraded)) END,
                       error_class = CASE WHEN i.error_class IS NOT NULL THEN i.error_class
                                          WHEN i.to_state = 'published' THEN NULL
                                          ELSE d.error_class END,
                       error_code = CASE WHEN i.error_class IS NOT NULL THEN i.error_code
                                         WHEN i.to_state = 'published' THEN NULL
                                         ELSE d.error_code END,
                       error_message = CASE WHEN i.error_class IS NOT NULL THEN i.error_message
                                            WHEN i.to_state = 'published' THEN NULL
                                            ELSE d.error_message END,
                       error_hint = CASE WHEN i.error_class IS NOT NULL THEN i.error_hint
                                         WHEN i.to_state = 'published' THEN NULL
                                         ELSE d.error_hint END,
                       finished_at = CASE WHEN i.to_state IN ('published', 'failed', 'dead',
                                                              'unknown', 'cancelled')
                                          THEN now() END,
                       updated_at = now()
                   FROM input i JOIN locked l ON l.id = i.id
                   WHERE d.id = i.id
                   RETURNING d.id, d.tenant_id, l.from_state, d.state, d.attempts,
                             i.detail, CASE WHEN i.due_now OR i.run_at IS NOT NULL
                                            THEN d.run_at END AS new_run_at, i.remote_id AS new_remote_id,
                             i.public_url AS new_public_url, i.error_class AS new_error_class,
                             i.error_code AS new_error_code, i.error_message AS new_error_message
               ),
               events AS (
                   INSERT INTO delivery_events (delivery_id, tenant_id, from_state, to_state, detail)
                   SELECT m.id, m.tenant_id, m.from_state, m.state,
                          COALESCE(m.detail, '{}') || jsonb_strip_nulls(jsonb_build_object(
                              'attempts', m.attempts,
                              'run_at', m.new_run_at,
                              'remote_id', m.new_remote_id,
                              'public_url', m.new_public_url,
                              'error_class', m.new_error_class,
                              'error_code', m.new_error_code,
                              'error_message', m.new_error_message))
                   FROM moved m
               )
               SELECT id AS "id!" FROM moved ORDER BY id"#,
            &ids,
            &from,
            &to,
            &owners as _,
            &run_at as _,
            &attempts,
            &remote_ids as _,
            &public_urls as _,
            &degraded as _,
            &classes as _,
            &codes as _,
            &messages as _,
            &hints as _,
            &details,
            &due_now
        )
        .fetch_all(executor)
        .await?;
    Ok(moved.into_iter().map(DeliveryId::from).collect())
}

impl Deliveries<'_> {
    /// Claims a delivery for `worker` for `lease`: only if it is claimable and due. Takes an
    /// attempt. `None` means someone else has it, it is not due yet, or it is finished: the
    /// job is a duplicate, acknowledge and drop it.
    ///
    /// The claim checks no bound, so a due delivery can always be claimed; a worker that
    /// finds too many interrupted runs (see [`Claimed::interrupted`]) finishes it instead of
    /// publishing.
    pub async fn claim(
        &self,
        id: DeliveryId,
        worker: &str,
        lease: Duration,
    ) -> Result<Option<Claimed>, StoreError> {
        Ok(self.claim_many(&[id], worker, lease).await?.pop())
    }

    /// Claims every due, claimable delivery among `ids` in one statement.
    pub async fn claim_many(
        &self,
        ids: &[DeliveryId],
        worker: &str,
        lease: Duration,
    ) -> Result<Vec<Claimed>, StoreError> {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.into_uuid()).collect();
        let rows = sqlx::query!(
            r#"WITH locked AS MATERIALIZED (
                   SELECT id, state AS from_state FROM deliveries
                   WHERE id = ANY($1)
                     AND state IN ('scheduled', 'queued', 'retrying', 'rate_limited')
                     AND run_at <= now()
                   ORDER BY id
                   FOR NO KEY UPDATE
               ),
               claimed AS (
                   UPDATE deliveries d SET
                       state = 'running',
                       attempts = d.attempts + 1,
                       lease_owner = $2,
                       lease_expires_at = now() + $3::bigint * interval '1 millisecond',
                       updated_at = now()
                   FROM locked l
                   WHERE d.id = l.id
                   RETURNING d.id, d.post_id, d.tenant_id, d.connection_id, d.platform,
                             d.content, d.state, d.attempts, d.max_attempts, d.run_at,
                             d.lease_owner, d.lease_expires_at, d.remote_id, d.public_url,
                             d.degraded, d.error_class, d.error_code, d.error_message,
                             d.error_hint, d.created_at, d.updated_at, d.finished_at,
                             d.interrupted, l.from_state
               ),
               events AS (
                   INSERT INTO delivery_events (delivery_id, tenant_id, from_state, to_state, detail)
                   SELECT id, tenant_id, from_state, 'running',
                          jsonb_build_object('worker', lease_owner, 'attempts', attempts,
                                             'lease_expires_at', lease_expires_at)
                   FROM claimed
               )
               SELECT c.id AS "id!", c.post_id AS "post_id!", c.tenant_id AS "tenant_id!",
                      c.connection_id AS "connection_id!", c.platform AS "platform!",
                      c.content, c.state AS "state!", c.attempts AS "attempts!",
                      c.max_attempts AS "max_attempts!", c.run_at AS "run_at!",
                      c.lease_owner, c.lease_expires_at, c.remote_id, c.public_url,
                      c.degraded AS "degraded!", c.error_class, c.error_code, c.error_message,
                      c.error_hint, c.created_at AS "created_at!", c.updated_at AS "updated_at!",
                      c.finished_at, c.from_state AS "from_state!",
                      c.interrupted AS "interrupted!",
                      COALESCE(c.content, p.content) AS "effective_content!"
               FROM claimed c JOIN posts p ON p.id = c.post_id
               ORDER BY c.id"#,
            &ids,
            worker,
            millis(lease)
        )
        .fetch_all(self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let from = parse_stored("delivery state", &r.from_state)?;
                let content = parse_content(r.effective_content)?;
                let delivery = Delivery::try_from(DeliveryRow {
                    id: r.id,
                    post_id: r.post_id,
                    tenant_id: r.tenant_id,
                    connection_id: r.connection_id,
                    platform: r.platform,
                    content: r.content,
                    state: r.state,
                    attempts: r.attempts,
                    max_attempts: r.max_attempts,
                    run_at: r.run_at,
                    lease_owner: r.lease_owner,
                    lease_expires_at: r.lease_expires_at,
                    remote_id: r.remote_id,
                    public_url: r.public_url,
                    degraded: r.degraded,
                    error_class: r.error_class,
                    error_code: r.error_code,
                    error_message: r.error_message,
                    error_hint: r.error_hint,
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                    finished_at: r.finished_at,
                })?;
                Ok(Claimed {
                    delivery,
                    content,
                    from,
                    interrupted: r.interrupted,
                })
            })
            .collect()
    }

    /// The state and due time of each of `ids` still claimable (`scheduled`, `queued`,
    /// `retrying`, `rate_limited`): for a batch of claims that found nothing, one read tells
    /// a job that came early (wait for its time) from a duplicate (drop it).
    pub async fn claimable_among(
        &self,
        ids: &[DeliveryId],
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.into_uuid()).collect();
        let rows = sqlx::query!(
            "SELECT id, state, run_at FROM deliveries
             WHERE id = ANY($1) AND state IN ('scheduled', 'queued', 'retrying', 'rate_limited')",
            &ids
        )
        .fetch_all(self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(DueDelivery {
                    id: r.id.into(),
                    state: parse_stored("delivery state", &r.state)?,
                    run_at: r.run_at,
                })
            })
            .collect()
    }

    /// Extends `worker`'s lease on a running delivery. `None`: the lease is lost (expired
    /// and released, or never held) and the worker must stop without recording anything.
    pub async fn renew_lease(
        &self,
        id: DeliveryId,
        worker: &str,
        lease: Duration,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(sqlx::query_scalar!(
            r#"UPDATE deliveries
               SET lease_expires_at = now() + $3::bigint * interval '1 millisecond',
                   updated_at = now()
               WHERE id = $1 AND state = 'running' AND lease_owner = $2
               RETURNING lease_expires_at AS "lease_expires_at!""#,
            id.into_uuid(),
            worker,
            millis(lease)
        )
        .fetch_optional(self.pool)
        .await?)
    }

    /// Deliveries that have been due for at least `overdue_by` and are not running, oldest
    /// first: jobs Redis lost or never received. Re-dispatching one that is in fact queued is
    /// harmless: the second claim finds nothing.
    pub async fn due(
        &self,
        overdue_by: Duration,
        limit: i64,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let rows = sqlx::query!(
            "SELECT id, state, run_at FROM deliveries
             WHERE state IN ('scheduled', 'queued', 'retrying', 'rate_limited')
               AND run_at <= now() - $1::bigint * interval '1 millisecond'
             ORDER BY run_at
             LIMIT $2",
            millis(overdue_by),
            limit
        )
        .fetch_all(self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(DueDelivery {
                    id: r.id.into(),
                    state: parse_stored("delivery state", &r.state)?,
                    run_at: r.run_at,
                })
            })
            .collect()
    }

    /// Running deliveries whose lease has expired, longest expired first.
    pub async fn expired_leases(&self, limit: i64) -> Result<Vec<ExpiredLease>, StoreError> {
        let rows = sqlx::query!(
            r#"SELECT id, lease_owner AS "lease_owner!", lease_expires_at AS "lease_expires_at!",
                      attempts, max_attempts
               FROM deliveries
               WHERE state = 'running' AND lease_expires_at < now()
               ORDER BY lease_expires_at
               LIMIT $1"#,
            limit
        )
        .fetch_all(self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| ExpiredLease {
                id: r.id.into(),
                lease_owner: r.lease_owner,
                lease_expires_at: r.lease_expires_at,
                attempts: r.attempts,
                max_attempts: r.max_attempts,
            })
            .collect())
    }

    /// Moves running deliveries whose lease expired back to `retrying`, due now, and returns
    /// them. A lease renewed meanwhile is left alone. The dead worker's run did not end, so
    /// its attempt is given back and counted in `interrupted` instead: a deploy or a crash
    /// loop never uses up attempts, and the worker that claims a delivery which keeps stopping
    /// its workers ends it (`worker.max_interrupted_runs`).
    pub async fn release_expired_leases(&self, limit: i64) -> Result<Vec<DeliveryId>, StoreError> {
        let ids = sqlx::query_scalar!(
            r#"WITH locked AS MATERIALIZED (
                   SELECT id, lease_owner FROM deliveries
                   WHERE state = 'running' AND lease_expires_at < now()
                   ORDER BY lease_expires_at
                   LIMIT $1
                   FOR NO KEY UPDATE SKIP LOCKED
               ),
               moved AS (
                   UPDATE deliveries d SET
                       state = 'retrying', run_at = now(),
                       attempts = greatest(d.attempts - 1, 0),
                       interrupted = d.interrupted + 1,
                       lease_owner = NULL, lease_expires_at = NULL,
                       error_class = 'retryable', error_code = NULL, error_hint = NULL,
                       error_message = 'the worker running it stopped before finishing (lease expired)',
                       updated_at = now()
                   FROM locked l
                   WHERE d.id = l.id
                   RETURNING d.id, d.tenant_id, d.attempts, d.interrupted,
                             l.lease_owner AS old_owner
               ),
               events AS (
                   INSERT INTO delivery_events (delivery_id, tenant_id, from_state, to_state, detail)
                   SELECT id, tenant_id, 'running', 'retrying',
                          jsonb_build_object('reason', 'lease_expired', 'lease_owner', old_owner,
                                             'attempts', attempts, 'interrupted', interrupted)
                   FROM moved
               )
               SELECT id AS "id!" FROM moved ORDER BY id"#,
            limit
        )
        .fetch_all(self.pool)
        .await?;
        Ok(ids.into_iter().map(DeliveryId::from).collect())
    }

    /// Cancels the deliveries of a tenant's post that have not started; returns those
    /// cancelled. Running or finished ones are left as they are.
    pub async fn cancel_post(
        &self,
        tenant_id: TenantId,
        post_id: PostId,
    ) -> Result<Vec<DeliveryId>, StoreError> {
        self.cancel_post_as(tenant_id, post_id, "cancelled by the producer")
            .await
    }

    /// [`Deliveries::cancel_post`], with the reason each delivery's event records (who
    /// cancelled it).
    pub async fn cancel_post_as(
        &self,
        tenant_id: TenantId,
        post_id: PostId,
        reason: &str,
    ) -> Result<Vec<DeliveryId>, StoreError> {
        let ids = sqlx::query_scalar!(
            "SELECT id FROM deliveries WHERE post_id = $1 AND tenant_id = $2 ORDER BY id",
            post_id.into_uuid(),
            tenant_id.into_uuid()
        )
        .fetch_all(self.pool)
        .await?;
        let transitions: Vec<Transition> = ids
            .into_iter()
            .map(|id| {
                Transition::new(
                    id.into(),
                    DeliveryState::CANCELLABLE,
                    DeliveryState::Cancelled,
                )
                .detail("reason", reason)
            })
            .collect();
        if transitions.is_empty() {
            return Ok(Vec::new());
        }
        self.transition_many(&transitions).await
    }
}

pub(crate) fn validate(transitions: &[Transition]) -> Result<(), StoreError> {
    let mut seen = HashSet::new();
    for t in transitions {
        if t.to == DeliveryState::Running {
            return Err(StoreError::InvalidInput(format!(
                "delivery {} can enter `running` only through a claim",
                t.delivery_id
            )));
        }
        if t.from.is_empty() {
            return Err(StoreError::InvalidInput(format!(
                "the transition of delivery {} allows no `from` state",
                t.delivery_id
            )));
        }
        if !seen.insert(t.delivery_id) {
            return Err(StoreError::InvalidInput(format!(
                "delivery {} appears twice in one batch",
                t.delivery_id
            )));
        }
    }
    Ok(())
}
