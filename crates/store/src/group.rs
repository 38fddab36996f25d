//! Group commit: the journal rows and outcomes of many deliveries in one transaction.
//!
//! Every delivery a worker runs writes its journal (`sending` before a call, `done` or
//! `failed` after) and its outcome, each a commit of its own: with hundreds of deliveries in
//! flight, the commits (and their flushes to disk) are what a worker waits on. A group
//! takes the writes that are waiting at one moment, whoever made them, and applies them with
//! one statement per kind inside one transaction: one commit for all of them.
//!
//! Each write keeps its own guard (a journal row moves only from `sending`, a delivery only
//! from the states its transition names and while its worker holds the lease), and the
//! answers are the ones the single statements give ([`Journal::begin`] and the rest). Either
//! the whole group is committed or none of it is: a caller told a write is done can count on
//! it being durable, and a group that fails fails every write in it.
//!
//! One write per delivery per group: a delivery's writes follow one another (each waits for
//! the one before), and the batched statements could not apply two to one row anyway.
//!
//! [`Journal::begin`]: crate::Journal::begin

use std::collections::{HashMap, HashSet};

use herald_domain::{DeliveryId, StepState};
use uuid::Uuid;

use crate::Store;
use crate::deliveries::{Transition, transition_many_on};
use crate::error::StoreError;
use crate::journal::{Step, StepRow, StepStart, validate_step_name};

/// One write of a group.
#[derive(Debug, Clone)]
pub enum Write {
    /// [`crate::Journal::begin`]: `step` is about to be sent.
    Begin {
        delivery_id: DeliveryId,
        step: String,
        detail: Option<serde_json::Value>,
    },
    /// [`crate::Journal::complete`]: a `sending` step took effect.
    Complete {
        delivery_id: DeliveryId,
        step: String,
        remote_id: Option<String>,
        detail: Option<serde_json::Value>,
    },
    /// [`crate::Journal::fail`]: a `sending` step did not take effect.
    Fail {
        delivery_id: DeliveryId,
        step: String,
        detail: Option<serde_json::Value>,
    },
    /// [`crate::Deliveries::transition`]: a guarded move of a delivery (its outcome).
    Transition(Box<Transition>),
}

impl Write {
    /// The delivery this write is for.
    pub fn delivery_id(&self) -> DeliveryId {
        match self {
            Write::Begin { delivery_id, .. }
            | Write::Complete { delivery_id, .. }
            | Write::Fail { delivery_id, .. } => *delivery_id,
            Write::Transition(t) => t.delivery_id,
        }
    }

    /// Refuses what the database would refuse for the whole group: a step name outside the
    /// schema, a transition into `running`.
    pub fn validate(&self) -> Result<(), StoreError> {
        match self {
            Write::Begin { step, .. } | Write::Complete { step, .. } | Write::Fail { step, .. } => {
                validate_step_name(step)
            }
            Write::Transition(t) => {
                crate::deliveries::validate_transitions(std::slice::from_ref(&**t))
            }
        }
    }
}

/// What one write of a committed group did.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// The answer of a [`Write::Begin`].
    Begun(StepStart),
    /// A [`Write::Complete`], [`Write::Fail`] or [`Write::Transition`]: whether the row
    /// moved (false: its guard did not hold, as the single statements answer).
    Moved(bool),
}

impl Store {
    /// Applies `writes` in one transaction (see the module docs) and answers each, in order.
    /// Refuses a group with two writes for one delivery, or a write that fails
    /// [`Write::validate`], before touching the database.
    pub async fn write_group(&self, writes: &[Write]) -> Result<Vec<Written>, StoreError> {
        let mut seen = HashSet::new();
        for write in writes {
            write.validate()?;
            if !seen.insert(write.delivery_id()) {
                return Err(StoreError::InvalidInput(format!(
                    "delivery {} has two writes in one group; each must wait for the one before",
                    write.delivery_id()
                )));
            }
        }
        let mut answers: Vec<Option<Written>> = vec![None; writes.len()];
        let mut tx = self.pool().begin().await?;
        begin_steps(&mut tx, writes, &mut answers).await?;
        finish_steps(&mut tx, writes, &mut answers).await?;
        let transitions: Vec<(usize, Transition)> = writes
            .iter()
            .enumerate()
            .filter_map(|(n, w)| match w {
                Write::Transition(t) => Some((n, (**t).clone())),
                _ => None,
            })
            .collect();
        if !transitions.is_empty() {
            let batch: Vec<Transition> = transitions.iter().map(|(_, t)| t.clone()).collect();
            let moved: HashSet<DeliveryId> = transition_many_on(&mut *tx, &batch)
                .await?
                .into_iter()
                .collect();
            for (n, t) in &transitions {
                answers[*n] = Some(Written::Moved(moved.contains(&t.delivery_id)));
            }
        }
        tx.commit().await?;
        answers
            .into_iter()
            .map(|a| {
                a.ok_or_else(|| {
                    StoreError::InvalidInput("a write of the group was left unanswered".to_owned())
                })
            })
            .collect()
    }
}

/// The group's [`Write::Begin`]s: one insert for all of them, then one read of the rows an
/// earlier attempt left (whose conflicting rows the insert holds locked until the commit,
/// so they cannot change in between).
async fn begin_steps(
    tx: &mut sqlx::PgConnection,
    writes: &[Write],
    answers: &mut [Option<Written>],
) -> Result<(), StoreError> {
    let mut index: HashMap<(Uuid, String), usize> = HashMap::new();
    let (mut ids, mut steps, mut details) = (Vec::new(), Vec::new(), Vec::new());
    for (n, write) in writes.iter().enumerate() {
        if let Write::Begin {
            delivery_id,
            step,
            detail,
        } = write
        {
            index.insert((delivery_id.into_uuid(), step.clone()), n);
            ids.push(delivery_id.into_uuid());
            steps.push(step.clone());
            details.push(detail.clone());
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    let started = sqlx::query_as!(
        StepRow,
        "INSERT INTO delivery_steps (delivery_id, step, state, detail)
         SELECT delivery_id, step, 'sending', detail
         FROM UNNEST($1::uuid[], $2::text[], $3::jsonb[]) AS i(delivery_id, step, detail)
         ORDER BY delivery_id, step
         ON CONFLICT (delivery_id, step) DO UPDATE
             SET state = 'sending', remote_id = NULL, detail = EXCLUDED.detail,
                 started_at = now(), finished_at = NULL
             WHERE delivery_steps.state = 'failed'
         RETURNING delivery_id, step, state, remote_id, detail, started_at, finished_at",
        &ids,
        &steps,
        &details as _
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in started {
        let key = (row.delivery_id, row.step.clone());
        if let Some(n) = index.remove(&key) {
            answers[n] = Some(Written::Begun(StepStart::Started(row.try_into()?)));
        }
    }
    if index.is_empty() {
        return Ok(());
    }
    let (ids, steps): (Vec<Uuid>, Vec<String>) = index.keys().cloned().unzip();
    let existing = sqlx::query_as!(
        StepRow,
        "SELECT s.delivery_id, s.step, s.state, s.remote_id, s.detail, s.started_at,
                s.finished_at
         FROM delivery_steps s
         JOIN UNNEST($1::uuid[], $2::text[]) AS i(delivery_id, step)
           ON s.delivery_id = i.delivery_id AND s.step = i.step",
        &ids,
        &steps
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in existing {
        let key = (row.delivery_id, row.step.clone());
        let Some(n) = index.remove(&key) else {
            continue;
        };
        let row = Step::try_from(row)?;
        let start = match row.state {
            StepState::Done => StepStart::AlreadyDone(row),
            StepState::Sending => StepStart::OutcomeUnknown(row),
            StepState::Failed => {
                return Err(StoreError::InvalidInput(format!(
                    "step `{}` of delivery {} is being retried concurrently",
                    row.step, row.delivery_id
                )));
            }
        };
        answers[n] = Some(Written::Begun(start));
    }
    Ok(())
}

/// The group's [`Write::Complete`]s and [`Write::Fail`]s: one update each, moving only
/// `sending` rows.
async fn finish_steps(
    tx: &mut sqlx::PgConnection,
    writes: &[Write],
    answers: &mut [Option<Written>],
) -> Result<(), StoreError> {
    let mut done: HashMap<(Uuid, String), usize> = HashMap::new();
    let (mut ids, mut steps, mut remote_ids, mut details) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut failed: HashMap<(Uuid, String), usize> = HashMap::new();
    let (mut f_ids, mut f_steps, mut f_details) = (Vec::new(), Vec::new(), Vec::new());
    for (n, write) in writes.iter().enumerate() {
        match write {
            Write::Complete {
                delivery_id,
                step,
                remote_id,
                detail,
            } => {
                done.insert((delivery_id.into_uuid(), step.clone()), n);
                ids.push(delivery_id.into_uuid());
                steps.push(step.clone());
                remote_ids.push(remote_id.clone());
                details.push(detail.clone());
            }
            Write::Fail {
                delivery_id,
                step,
                detail,
            } => {
                failed.insert((delivery_id.into_uuid(), step.clone()), n);
                f_ids.push(delivery_id.into_uuid());
                f_steps.push(step.clone());
                f_details.push(detail.clone());
            }
            _ => {}
        }
    }
    if !ids.is_empty() {
        let moved = sqlx::query!(
            "UPDATE delivery_steps s
             SET state = 'done', remote_id = i.remote_id, detail = COALESCE(i.detail, s.detail),
                 finished_at = now()
             FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::jsonb[])
                  AS i(delivery_id, step, remote_id, detail)
             WHERE s.delivery_id = i.delivery_id AND s.step = i.step AND s.state = 'sending'
             RETURNING s.delivery_id, s.step",
            &ids,
            &steps,
            &remote_ids as _,
            &details as _
        )
        .fetch_all(&mut *tx)
        .await?;
        let moved: HashSet<(Uuid, String)> =
            moved.into_iter().map(|r| (r.delivery_id, r.step)).collect();
        for (key, n) in done {
            answers[n] = Some(Written::Moved(moved.contains(&key)));
        }
    }
    if !f_ids.is_empty() {
        let moved = sqlx::query!(
            "UPDATE delivery_steps s
             SET state = 'failed', detail = COALESCE(i.detail, s.detail), finished_at = now()
             FROM UNNEST($1::uuid[], $2::text[], $3::jsonb[]) AS i(delivery_id, step, detail)
             WHERE s.delivery_id = i.delivery_id AND s.step = i.step AND s.state = 'sending'
             RETURNING s.delivery_id, s.step",
            &f_ids,
            &f_steps,
            &f_details as _
        )
        .fetch_all(&mut *tx)
        .await?;
        let moved: HashSet<(Uuid, String)> =
            moved.into_iter().map(|r| (r.delivery_id, r.step)).collect();
        for (key, n) in failed {
            answers[n] = Some(Written::Moved(moved.contains(&key)));
        }
    }
    Ok(())
}
