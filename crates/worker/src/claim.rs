//! Claiming a delivery, and holding it.
//!
//! **At least once in, exactly one owner.** Redis may hand the same job to two workers (a
//! heartbeat missed under load, a sweeper re-dispatch of a job that was only slow, a pushed
//! retry racing an operator's requeue). Whatever the cause, ownership is decided by one
//! guarded `UPDATE` in Postgres: the delivery moves to `running` with this worker as lease
//! owner only if it is claimable and due. The second copy finds nothing to claim and is
//! acknowledged and dropped: that is the whole deduplication.
//!
//! **Batches.** Claims go through `crate::group`: every job waiting to be claimed at one
//! moment is claimed by one guarded `UPDATE` (each row keeps its own guard), and the jobs it
//! did not claim are told apart by one read: due later (wait, or push back) or nothing to
//! claim. A burst of jobs due in the same second therefore costs a few statements, not one
//! (or two) per job.
//!
//! **Early jobs.** Redis schedules in whole seconds (see `herald_queue::jobs`), so a job can
//! arrive up to a second before its delivery is due; the claim refuses it (`run_at <=
//! now()`). Rather than drop it and wait for the sweeper, the worker waits out the remainder
//! asynchronously and claims then; a job that arrives much earlier (a retry rescheduled while
//! the old job was queued) goes back to Redis for its time. So a scheduled post goes out at
//! its time, to the precision of Postgres' clock rather than Redis'.
//!
//! **Leases.** A claim is a lease for `lease` (30 s by default). While the pipeline works —
//! waiting for a platform slot, for LinkedIn to process an image, for a container — a
//! background task renews it every third of its length. A worker that dies stops renewing;
//! the sweeper returns its deliveries to `retrying` once the lease has run out, and the
//! journal tells the next owner what already happened. A renewal that finds the lease gone
//! marks it lost, and the pipeline stops before its next side effect and records nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use herald_domain::PublishJob;
use herald_store::{Claimed, StoreError};
use tokio::task::JoinHandle;

use crate::context::Ctx;
use crate::group::ClaimAnswer;

/// Claims the job's delivery, waiting out an early arrival. `None`: nothing to claim (a
/// duplicate, a finished or cancelled delivery, or one due later, pushed back for then).
///
/// While Postgres is unreachable the claim waits (see `crate::availability`) and tries
/// again once it answers; a process that stops meanwhile hands the job back to Redis.
pub(crate) async fn claim(ctx: &Ctx, job: &PublishJob) -> Result<Option<Claimed>, StoreError> {
    loop {
        if !ctx.database.is_up() && !ctx.database.until_up(&ctx.stopping).await {
            return hand_back(ctx, job).await;
        }
        match try_claim(ctx, job).await {
            Err(err) if ctx.database.report(&err) => {}
            other => return other,
        }
    }
}

/// Stopping while Postgres was away: the job goes back to Redis for another worker (or the
/// sweeper dispatches it again from Postgres if Redis does not take it).
async fn hand_back(ctx: &Ctx, job: &PublishJob) -> Result<Option<Claimed>, StoreError> {
    if let Err(err) = ctx.queue.push(job, Utc::now()).await {
        tracing::warn!(error = %err, "could not hand the job back; the sweeper will dispatch it");
    }
    Ok(None)
}

async fn try_claim(ctx: &Ctx, job: &PublishJob) -> Result<Option<Claimed>, StoreError> {
    // A few rounds: Postgres' clock and ours may differ by a few milliseconds.
    for _ in 0..4 {
        // Claimed together with every job that arrived meanwhile (`crate::group`).
        let run_at = match ctx.claims.claim(job.delivery_id).await? {
            ClaimAnswer::Claimed(claimed) => return Ok(Some(*claimed)),
            ClaimAnswer::Nothing => return Ok(None),
            ClaimAnswer::DueAt(run_at) => run_at,
        };
        let wait = (run_at - Utc::now()).to_std().unwrap_or_default();
        if wait > ctx.settings.early_wait {
            // Due much later (rescheduled meanwhile): its own job is, or will be, in Redis;
            // pushing one for its time is harmless if it is a duplicate.
            if let Err(err) = ctx.queue.push(job, run_at).await {
                tracing::warn!(error = %err, "could not push an early job back; the sweeper will dispatch it");
            }
            return Ok(None);
        }
        let wait = wait + Duration::from_millis(5);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = ctx.stopping.cancelled() => return Ok(None),
        }
    }
    Ok(None)
}

/// A claimed delivery's lease, renewed in the background until dropped.
#[derive(Debug)]
pub(crate) struct Lease {
    lost: Arc<AtomicBool>,
    renewer: JoinHandle<()>,
}

impl Lease {
    pub(crate) fn hold(ctx: &Arc<Ctx>, claimed: &Claimed) -> Self {
        let lost = Arc::new(AtomicBool::new(false));
        let id = claimed.delivery.id;
        let every = ctx.settings.lease / 3;
        let renewer = tokio::spawn({
            let ctx = Arc::clone(ctx);
            let lost = Arc::clone(&lost);
            async move {
                loop {
                    tokio::time::sleep(every).await;
                    match ctx
                        .store
                        .deliveries()
                        .renew_lease(id, ctx.worker(), ctx.settings.lease)
                        .await
                    {
                        Ok(Some(_)) => {}
                        Ok(None) => {
                            tracing::warn!(delivery_id = %id, "lease lost; stopping before the next side effect");
                            lost.store(true, Ordering::SeqCst);
                            return;
                        }
                        Err(err) => {
                            ctx.database.report(&err);
                            tracing::warn!(delivery_id = %id, error = %err, "could not renew the lease; trying again");
                        }
                    }
                }
            }
        });
        Self { lost, renewer }
    }

    /// Whether another worker may own the delivery now.
    pub(crate) fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}
