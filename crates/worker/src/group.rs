//! Group commit in the worker: one writer per process for the journal and outcomes, and
//! claims taken in batches.
//!
//! **Why.** A delivery costs a claim, a journal row before its call and after it, and an
//! outcome: four commits, each waiting for Postgres to flush its log to disk. Hundreds of
//! deliveries in flight each waiting for their own commit make the commits, not the
//! platforms, the limit. So the pipelines hand their writes to one [`Writer`], which
//! gathers what is waiting (up to [`GroupSettings::max_rows`], lingering at most
//! [`GroupSettings::linger`] for more) and applies it in one transaction
//! ([`Store::write_group`]); and claims go through [`Claims`], which claims every job that
//! arrived meanwhile with one guarded `UPDATE` ([`herald_store::Deliveries::claim_many`]).
//!
//! **What does not change.** Each write keeps its own guard; a pipeline goes on only once
//! the group holding its write is committed, so the journal's rule (the `sending` row is
//! durable before the call) holds as before, and nothing is acknowledged before it is
//! durable. A group that fails fails every write in it, each handled as a single write's
//! failure always was (a `begin` that fails ends the run retryable, a `done` that fails
//! leaves the step `sending` for a lookup, an outcome that fails leaves the lease to
//! expire). One exception keeps a bad write from failing its neighbours: when a group fails
//! for a reason other than Postgres being unreachable, each of its writes is tried again on
//! its own, so only the one at fault fails.
//!
//! Memory is bounded by concurrency: a delivery has at most one write (or claim) waiting.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use herald_domain::DeliveryId;
use herald_store::{Claimed, StepStart, Store, StoreError, Transition, Write, Written};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How groups are gathered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupSettings {
    /// At most this many writes (or claims) in one group.
    pub max_rows: usize,
    /// How long a group waits for more once its first write arrived. Writes that arrive
    /// while groups are being committed join the next group anyway.
    pub linger: Duration,
    /// Groups committed at once: a little overlap keeps Postgres busy while the next group
    /// gathers.
    pub in_flight: usize,
}

impl Default for GroupSettings {
    fn default() -> Self {
        Self {
            max_rows: 256,
            linger: Duration::from_millis(2),
            in_flight: 2,
        }
    }
}

/// One waiting write and where its answer goes.
struct Pending<T, A> {
    item: T,
    answer: oneshot::Sender<Result<A, StoreError>>,
}

/// Hands each group of `T` to `flush`, at most `settings.in_flight` at once, until every
/// sender is dropped.
async fn gather<T, A, F, Fut>(
    mut queue: mpsc::UnboundedReceiver<Pending<T, A>>,
    settings: GroupSettings,
    key: fn(&T) -> DeliveryId,
    flush: F,
) where
    T: Send + 'static,
    A: Send + 'static,
    F: Fn(Vec<Pending<T, A>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(settings.in_flight.max(1)));
    let mut carried: Vec<Pending<T, A>> = Vec::new();
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let mut group = std::mem::take(&mut carried);
        if group.is_empty() {
            match queue.recv().await {
                Some(first) => group.push(first),
                None => return,
            }
        }
        let deadline = Instant::now() + settings.linger;
        let mut seen: HashSet<DeliveryId> = group.iter().map(|p| key(&p.item)).collect();
        while group.len() < settings.max_rows.max(1) {
            let next = match queue.try_recv() {
                Ok(next) => next,
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    match tokio::time::timeout_at(deadline, queue.recv()).await {
                        Ok(Some(next)) => next,
                        Ok(None) | Err(_) => break,
                    }
                }
            };
            // A second write of one delivery waits for the next group.
            if seen.insert(key(&next.item)) {
                group.push(next);
            } else {
                carried.push(next);
            }
        }
        let flushing = flush(group);
        tokio::spawn(async move {
            flushing.await;
            drop(slot);
        });
    }
}

fn stopped() -> StoreError {
    StoreError::InvalidInput("the worker's group-commit writer has stopped".to_owned())
}

/// The process' group-commit writer for journal rows and outcomes (see the module docs).
#[derive(Debug, Clone)]
pub struct Writer {
    queue: mpsc::UnboundedSender<Pending<Write, Written>>,
    groups: Arc<AtomicU64>,
}

impl Writer {
    /// Starts the writer; it runs until every clone of the returned handle is dropped.
    pub fn start(store: Store, settings: GroupSettings) -> (Self, JoinHandle<()>) {
        let (queue, receiver) = mpsc::unbounded_channel();
        let groups = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&groups);
        let task = tokio::spawn(gather(
            receiver,
            settings,
            Write::delivery_id,
            move |group| {
                let store = store.clone();
                counted.fetch_add(1, Ordering::Relaxed);
                async move { flush_writes(&store, group).await }
            },
        ));
        (Self { queue, groups }, task)
    }

    /// How many groups this writer has committed or tried to.
    pub fn groups(&self) -> u64 {
        self.groups.load(Ordering::Relaxed)
    }

    /// Applies `write` with whatever else is waiting; answers once its group is committed.
    pub async fn write(&self, write: Write) -> Result<Written, StoreError> {
        write.validate()?;
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Pending {
                item: write,
                answer,
            })
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }

    /// [`herald_store::Journal::begin`], grouped.
    pub async fn begin(
        &self,
        delivery_id: DeliveryId,
        step: &str,
        detail: Option<&serde_json::Value>,
    ) -> Result<StepStart, StoreError> {
        let write = Write::Begin {
            delivery_id,
            step: step.to_owned(),
            detail: detail.cloned(),
        };
        match self.write(write).await? {
            Written::Begun(start) => Ok(start),
            Written::Moved(_) => Err(mismatch()),
        }
    }

    /// [`herald_store::Journal::complete`], grouped.
    pub async fn complete(
        &self,
        delivery_id: DeliveryId,
        step: &str,
        remote_id: Option<&str>,
        detail: Option<&serde_json::Value>,
    ) -> Result<bool, StoreError> {
        moved(
            &self
                .write(Write::Complete {
                    delivery_id,
                    step: step.to_owned(),
                    remote_id: remote_id.map(str::to_owned),
                    detail: detail.cloned(),
                })
                .await?,
        )
    }

    /// [`herald_store::Journal::fail`], grouped.
    pub async fn fail(
        &self,
        delivery_id: DeliveryId,
        step: &str,
        detail: Option<&serde_json::Value>,
    ) -> Result<bool, StoreError> {
        moved(
            &self
                .write(Write::Fail {
                    delivery_id,
                    step: step.to_owned(),
                    detail: detail.cloned(),
                })
                .await?,
        )
    }

    /// [`herald_store::Deliveries::transition`], grouped.
    pub async fn transition(&self, transition: Transition) -> Result<bool, StoreError> {
        moved(&self.write(Write::Transition(Box::new(transition))).await?)
    }
}

fn moved(written: &Written) -> Result<bool, StoreError> {
    match written {
        Written::Moved(moved) => Ok(*moved),
        Written::Begun(_) => Err(mismatch()),
    }
}

fn mismatch() -> StoreError {
    StoreError::InvalidInput(
        "a group commit answered a write with another kind's answer".to_owned(),
    )
}

async fn flush_writes(store: &Store, group: Vec<Pending<Write, Written>>) {
    let (writes, answers): (Vec<Write>, Vec<_>) =
        group.into_iter().map(|p| (p.item, p.answer)).unzip();
    match store.write_group(&writes).await {
        Ok(written) => {
            for (answer, written) in answers.into_iter().zip(written) {
                let _ = answer.send(Ok(written));
            }
        }
        Err(err) if writes.len() > 1 && !err.is_unavailable() => {
            tracing::warn!(error = %err, rows = writes.len(), "a group commit failed; writing its rows one by one");
            for (write, answer) in writes.into_iter().zip(answers) {
                let alone = store
                    .write_group(std::slice::from_ref(&write))
                    .await
                    .and_then(|mut w| w.pop().ok_or_else(stopped));
                let _ = answer.send(alone);
            }
        }
        Err(err) => {
            for answer in answers {
                let _ = answer.send(Err(err.copy_for_waiter()));
            }
        }
    }
}

/// What a batched claim found for one job.
#[derive(Debug)]
pub enum ClaimAnswer {
    /// This worker owns the delivery now.
    Claimed(Box<Claimed>),
    /// Claimable, but due at this time (a job that came early).
    DueAt(DateTime<Utc>),
    /// Nothing to claim: running elsewhere, finished or cancelled (a duplicate job).
    Nothing,
}

/// Claims in batches: every job waiting to be claimed at one moment is claimed by one
/// statement, and those it did not claim are told apart by one read (see the module docs).
#[derive(Debug, Clone)]
pub struct Claims {
    queue: mpsc::UnboundedSender<Pending<DeliveryId, ClaimAnswer>>,
}

impl Claims {
    /// Starts the batcher for `worker`, whose claims are leases of `lease`.
    pub fn start(
        store: Store,
        worker: String,
        lease: Duration,
        settings: GroupSettings,
    ) -> (Self, JoinHandle<()>) {
        let (queue, receiver) = mpsc::unbounded_channel();
        let task = tokio::spawn(gather(
            receiver,
            settings,
            |id: &DeliveryId| *id,
            move |group| {
                let store = store.clone();
                let worker = worker.clone();
                async move { flush_claims(&store, &worker, lease, group).await }
            },
        ));
        (Self { queue }, task)
    }

    /// Claims `id` with whatever else is waiting.
    pub async fn claim(&self, id: DeliveryId) -> Result<ClaimAnswer, StoreError> {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Pending { item: id, answer })
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

async fn flush_claims(
    store: &Store,
    worker: &str,
    lease: Duration,
    group: Vec<Pending<DeliveryId, ClaimAnswer>>,
) {
    let ids: Vec<DeliveryId> = group.iter().map(|p| p.item).collect();
    match claim_group(store, worker, lease, &ids).await {
        Ok(mut answers) => {
            for pending in group {
                let answer = answers
                    .remove(&pending.item)
                    .unwrap_or(ClaimAnswer::Nothing);
                let _ = pending.answer.send(Ok(answer));
            }
        }
        Err(err) => {
            for pending in group {
                let _ = pending.answer.send(Err(err.copy_for_waiter()));
            }
        }
    }
}

async fn claim_group(
    store: &Store,
    worker: &str,
    lease: Duration,
    ids: &[DeliveryId],
) -> Result<HashMap<DeliveryId, ClaimAnswer>, StoreError> {
    let deliveries = store.deliveries();
    let mut answers: HashMap<DeliveryId, ClaimAnswer> = deliveries
        .claim_many(ids, worker, lease)
        .await?
        .into_iter()
        .map(|c| (c.delivery.id, ClaimAnswer::Claimed(Box::new(c))))
        .collect();
    let unclaimed: Vec<DeliveryId> = ids
        .iter()
        .filter(|id| !answers.contains_key(*id))
        .copied()
        .collect();
    if !unclaimed.is_empty() {
        for due in deliveries.claimable_among(&unclaimed).await? {
            answers.insert(due.id, ClaimAnswer::DueAt(due.run_at));
        }
    }
    Ok(answers)
}
