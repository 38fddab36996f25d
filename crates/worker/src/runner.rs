//! Running the worker: apalis consumes the Redis queue, the pipeline handles each job, the
//! sweeper and the webhook sender run beside it, and a stop signal winds everything down in
//! order.
//!
//! **Consuming.** One apalis worker per process, registered in Redis under a name unique to
//! the process (host + random suffix, plus the restart count: a restarted worker must not
//! reuse a name still counted as alive). Heartbeats and orphan recovery are set explicitly
//! (`heartbeat x missed_heartbeats`, 12 s by default), and the connection's response timeout
//! is long (apalis-redis#76). The monitor restarts the worker if its loop stops on an error.
//! Each job is spawned as its own task, so hundreds of deliveries wait concurrently (async
//! sleeps and I/O, no threads held) on every core; `concurrency` bounds them and each
//! platform has its own cap inside the pipeline.
//!
//! **Stopping** (SIGTERM, or the future passed to [`run`]), in bounded time: `run` returns
//! within the grace period + [`DRAIN_MARGIN`] whatever is running, so the process exits
//! within the grace period + 5 s (`herald work` adds at most a second or two for its metrics
//! server and the runtime):
//! 1. take no new work: the monitor stops fetching, buffered jobs go back to Redis, a job
//!    that arrives anyway is pushed back; the sweeper stops (another process takes the lead)
//!    and the webhook sender finishes its round;
//! 2. running deliveries finish the step they are in; between steps they checkpoint (back to
//!    `queued`, attempt refunded) and the next worker resumes from the journal;
//! 3. after the grace period whatever still runs is abandoned: a delivery between calls is
//!    handed back at once, one with a call in flight keeps its lease until it expires, and
//!    its journal row is resolved by lookup (never by calling again);
//! 4. at the grace period + [`DRAIN_MARGIN`] every task of the worker still running (a
//!    pipeline recording how it stopped, a sweep, a webhook round, a probe of Postgres) is
//!    dropped where it waits. Each of their changes is one guarded statement, so dropping
//!    one leaves nothing half done: leases expire and the journal says what happened.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use apalis::layers::WorkerBuilderExt;
use apalis::prelude::{BackendExt, BoxDynError, Data, Monitor, WorkerBuilder};
use herald_domain::PublishJob;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::context::{Ctx, Deps};
use crate::pipeline;
use crate::settings::WorkerSettings;
use crate::sweeper;
use crate::webhooks::Sender;

/// How long after the grace period a stopping worker waits for its tasks before dropping
/// them: time for abandoned deliveries to record how they stopped.
pub const DRAIN_MARGIN: Duration = Duration::from_millis(2_500);

/// The worker could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Media(#[from] crate::MediaError),
    #[error(transparent)]
    Webhooks(#[from] crate::webhooks::WebhookError),
    #[error("the queue consumer failed: {0}")]
    Monitor(String),
}

/// Runs a worker process until `shutdown` completes, then stops gracefully and in bounded
/// time (see the module docs).
pub async fn run(
    settings: WorkerSettings,
    deps: Deps,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WorkerError> {
    let grace = settings.shutdown_grace;
    let webhooks = Sender::new(
        deps.store.clone(),
        settings.webhooks.clone(),
        deps.metrics.clone(),
    )?;
    let ctx = Arc::new(Ctx::new(settings, deps)?);
    tracing::info!(worker = ctx.worker(), "worker starting");

    // Everything beside the queue consumer stops as soon as the process is asked to.
    let beside = CancellationToken::new();
    let sweeper = tokio::spawn(sweeper::run(Arc::clone(&ctx), beside.clone()));
    let retention = ctx.settings.media.store.clone().map(|media| {
        tokio::spawn(crate::retention::run(
            ctx.store.clone(),
            media,
            ctx.settings.retention.clone(),
            beside.clone(),
        ))
    });
    let promoter = tokio::spawn(promote(Arc::clone(&ctx), beside.clone()));
    let webhooks_timeout = webhooks.shutdown_timeout();
    let webhooks = tokio::spawn(webhooks.run(beside.clone()));
    let probe = tokio::spawn({
        let ctx = Arc::clone(&ctx);
        let stop = beside.clone();
        async move { ctx.database.probe(&ctx.store, &stop).await }
    });

    let (signalled, signalled_at) = tokio::sync::oneshot::channel::<Instant>();
    let signal = {
        let ctx = Arc::clone(&ctx);
        let beside = beside.clone();
        async move {
            shutdown.await;
            let _ = signalled.send(Instant::now());
            tracing::info!("stopping: taking no new work");
            ctx.stopping.cancel();
            beside.cancel();
            let hard = Arc::clone(&ctx);
            tokio::spawn(async move {
                tokio::time::sleep(grace).await;
                if !hard.in_flight().is_empty() {
                    tracing::warn!(
                        running = hard.in_flight().len(),
                        "grace period over; abandoning what still runs"
                    );
                }
                hard.hard_stop.cancel();
            });
            Ok(())
        }
    };

    let monitor = {
        let ctx = Arc::clone(&ctx);
        Monitor::new()
            .register(move |restarts| {
                let name = if restarts == 0 {
                    ctx.worker().to_owned()
                } else {
                    format!("{}-r{restarts}", ctx.worker())
                };
                let storage = ctx
                    .queue
                    .storage(&ctx.settings.consumer)
                    .poll_with_interval(ctx.settings.consumer.poll_interval);
                WorkerBuilder::new(name)
                    .backend(storage)
                    .concurrency(ctx.settings.concurrency)
                    .data(Arc::clone(&ctx))
                    .build(handle)
            })
            .should_restart(|worker, error| {
                tracing::error!(worker = worker.name(), %error, "the queue consumer stopped; restarting it");
                true
            })
            // A backstop: the pipelines themselves stop at the grace period.
            .shutdown_timeout(grace + DRAIN_MARGIN / 2)
    };
    let result = monitor.run_with_signal(signal).await;
    let signalled_at = signalled_at.await.unwrap_or_else(|_| {
        // The consumer ended without being asked to: stop the rest now.
        ctx.stopping.cancel();
        beside.cancel();
        Instant::now()
    });
    let deadline = signalled_at + grace + DRAIN_MARGIN;

    // Whatever still runs after the monitor is done is abandoned now; wait (until the
    // deadline) for those pipelines to record how they stopped.
    ctx.hard_stop.cancel();
    ctx.tasks.close();
    if tokio::time::timeout_at(deadline, ctx.tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            running = ctx.tasks.len(),
            "some deliveries did not record how they stopped; their leases will expire"
        );
        ctx.dropped.cancel();
    }
    finish("the sweeper", sweeper, deadline).await;
    // Its attempts cut short keep their leases and are sent again once those end.
    finish(
        "the webhook sender",
        webhooks,
        deadline.min(signalled_at + webhooks_timeout),
    )
    .await;
    finish("the Postgres probe", probe, deadline).await;
    finish("the scheduled-job promoter", promoter, deadline).await;
    if let Some(retention) = retention {
        finish("the media retention sweep", retention, deadline).await;
    }
    tracing::info!(worker = ctx.worker(), "worker stopped");
    result.map_err(|e| WorkerError::Monitor(e.to_string()))
}

/// How far ahead of their second scheduled jobs are moved to the waiting list, and how many
/// at a time.
const PROMOTE_AHEAD: chrono::TimeDelta = chrono::TimeDelta::seconds(1);
const PROMOTE_CHUNK: usize = 1_000;

/// Moves scheduled jobs to the waiting list a chunk at a time, every poll interval, a
/// second before they fall due (see [`herald_queue::JobQueue::promote_due`]): a burst due in
/// one second reaches the consumers already waiting, and never in one oversized call. A
/// job that arrives early waits for its delivery's time in the claim. Runs until `stop`.
async fn promote(ctx: Arc<Ctx>, stop: CancellationToken) {
    let every = ctx.settings.consumer.poll_interval;
    loop {
        loop {
            let until = chrono::Utc::now() + PROMOTE_AHEAD;
            match ctx.queue.promote_due(until, PROMOTE_CHUNK).await {
                Ok(moved) if moved == PROMOTE_CHUNK => {}
                Ok(_) => break,
                Err(err) => {
                    tracing::debug!(error = %err, "could not promote scheduled jobs; apalis will");
                    break;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = stop.cancelled() => return,
        }
    }
}

/// Waits for a task told to stop until `deadline`, then drops it where it waits.
async fn finish(what: &str, mut task: JoinHandle<()>, deadline: Instant) {
    if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
        task.abort();
        tracing::warn!("{what} did not stop in time; stopped it");
    }
}

/// The apalis handler: runs the pipeline on a task of its own (so jobs use every core and a
/// panic stays with its job), and always succeeds from apalis' point of view.
async fn handle(job: PublishJob, ctx: Data<Arc<Ctx>>) -> Result<(), BoxDynError> {
    let ctx: Arc<Ctx> = Arc::clone(&ctx);
    let pipeline = pipeline::handle(Arc::clone(&ctx), job);
    let dropped = ctx.dropped.clone();
    let task = ctx.tasks.spawn(async move {
        tokio::select! {
            () = pipeline => {}
            () = dropped.cancelled() => {}
        }
    });
    if let Err(err) = task.await {
        tracing::error!(error = %err, "a delivery's task panicked; the sweeper will recover it");
    }
    Ok(())
}
