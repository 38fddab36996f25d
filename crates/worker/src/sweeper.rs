//! The sweeper: what makes "Postgres is the truth" true.
//!
//! Redis carries jobs, but it can be flushed, restarted or simply not reached when the API
//! pushes after its commit. None of that may lose a post, so one process in the fleet (the
//! leader, holding a Postgres session advisory lock; if it dies its session ends and another
//! process takes over at its next tick) looks at Postgres every `sweep_interval` and:
//!
//! 1. **expires dead workers' leases**: `running` deliveries whose lease ran out go back to
//!    `retrying` (the cut run gives its attempt back and counts as interrupted instead, so
//!    workers killed by a deploy never use up attempts, while a delivery that keeps killing
//!    its workers ends `dead` at `worker.max_interrupted_runs`) and are pushed to Redis;
//! 2. **re-dispatches due deliveries that are not in flight**: anything claimable that has
//!    been due for `redispatch_after` without running is pushed again. A copy of a job that
//!    was only slow is harmless: the second claim finds nothing;
//! 3. **trims Redis**: finished jobs' ids, data and metadata (apalis-redis keeps them);
//!    and now and then prunes window rows older than every window.
//!
//! Beside the sweeps, in a task of its own, it **resolves stale `sending` journal rows** of
//! deliveries waiting for another attempt: the platform is searched for the post, and the
//! row becomes `done` (found) or `failed` (not found), so the next attempt knows whether to
//! send; a platform that cannot tell is left to the pipeline and the tenant's policy.
//! Lookups call platforms, which can be slow or down, so they never hold up a sweep: a
//! round runs `sweep_lookup_concurrency` of them at once for at most `sweep_lookup_budget`,
//! sweeps go on meanwhile, and a lookup the round did not finish is simply tried in the
//! next round (the next attempt of the delivery looks it up itself anyway).
//!
//! Every change a sweep makes is one guarded statement, so a sweep or a lookup cut short (the
//! process stopping, Postgres going away) leaves nothing half done.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use futures::StreamExt;
use herald_domain::{Platform, PublishJob};
use herald_platforms::{Lookup, StepKey};
use herald_store::{Leader, Step, StoreError};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use crate::context::Ctx;
use crate::tokens::account_of;

const DUTY: &str = "herald-sweeper";
const BATCH: i64 = 500;
/// Stale rows one lookup round considers.
const LOOKUP_BATCH: i64 = 100;
/// How long asking whether the leader's session is alive, or closing it, may take: on a
/// connection that no longer answers either could otherwise wait for TCP to give up.
const SESSION_CHECK: Duration = Duration::from_secs(2);

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub leases_expired: usize,
    pub redispatched: usize,
    pub trimmed: usize,
}

/// What one round of lookups did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LookupReport {
    pub resolved: usize,
    /// Lookups the round's budget cut short, tried again in the next round.
    pub unfinished: usize,
}

pub(crate) async fn run(ctx: Arc<Ctx>, stop: CancellationToken) {
    let mut leader: Option<Leader> = None;
    // Aborted when dropped, so a round never outlives the sweeper (even one aborted itself).
    let mut lookups: Option<AbortOnDropHandle<Result<LookupReport, StoreError>>> = None;
    let mut ticker = tokio::time::interval(ctx.settings.sweep_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = ticker.tick() => {}
        }
        ticks += 1;
        if let Some(current) = leader.as_mut() {
            let alive = tokio::time::timeout(SESSION_CHECK, current.still_leading())
                .await
                .unwrap_or(false);
            if !alive {
                tracing::warn!("lost the sweeper's leadership");
                leader = None;
                lookups = None;
            }
        }
        if !ctx.database.is_up() {
            // Claims are paused and the availability probe watches Postgres: nothing to
            // sweep until it answers.
            continue;
        }
        if leader.is_none() {
            match Leader::try_acquire(ctx.store.pool(), DUTY).await {
                Ok(Some(acquired)) => {
                    tracing::info!(worker = ctx.worker(), "leading the sweeper");
                    leader = Some(acquired);
                }
                Ok(None) => continue,
                Err(err) => {
                    if !ctx.database.report(&err) {
                        tracing::warn!(error = %err, "cannot ask for the sweeper's leadership");
                    }
                    continue;
                }
            }
        }
        let swept = tokio::select! {
            swept = sweep_once(&ctx, ticks % 60 == 1) => swept,
            () = stop.cancelled() => break,
        };
        match swept {
            Ok(report) if report != SweepReport::default() => {
                tracing::info!(?report, "swept");
            }
            Ok(_) => {}
            Err(err) => {
                if !ctx.database.report(&err) {
                    tracing::warn!(error = %err, "sweep failed; trying again next tick");
                }
            }
        }
        if lookups.as_ref().is_some_and(AbortOnDropHandle::is_finished)
            && let Some(round) = lookups.take()
        {
            match round.await {
                Ok(Ok(report)) if report != LookupReport::default() => {
                    tracing::info!(?report, "looked up unresolved publishes");
                }
                Ok(Ok(_)) => {}
                Ok(Err(err)) => {
                    if !ctx.database.report(&err) {
                        tracing::warn!(error = %err, "lookup round failed; trying again");
                    }
                }
                Err(err) => tracing::warn!(error = %err, "lookup round ended abnormally"),
            }
        }
        if lookups.is_none() {
            lookups = Some(AbortOnDropHandle::new(tokio::spawn(lookup_round(
                Arc::clone(&ctx),
            ))));
        }
    }
    drop(lookups);
    if let Some(leader) = leader {
        match tokio::time::timeout(SESSION_CHECK, leader.release()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "could not release the sweeper's leadership cleanly");
            }
            Err(_) => tracing::warn!(
                "releasing the sweeper's leadership timed out; it ends with the process"
            ),
        }
    }
}

/// One pass of every duty but the lookups (the caller holds the leadership).
async fn sweep_once(ctx: &Ctx, prune: bool) -> Result<SweepReport, StoreError> {
    let mut report = SweepReport::default();
    let deliveries = ctx.store.deliveries();
    let now = Utc::now();

    let expired = deliveries.release_expired_leases(BATCH).await?;
    report.leases_expired = expired.len();
    push(
        ctx,
        expired
            .into_iter()
            .map(|id| (PublishJob::new(id), now))
            .collect(),
    )
    .await;

    let due = deliveries.due(ctx.settings.redispatch_after, BATCH).await?;
    report.redispatched = due.len();
    push(
        ctx,
        // For the instant each is due: a copy still waiting in Redis makes this a no-op.
        due.into_iter()
            .map(|d| (PublishJob::new(d.id), d.run_at))
            .collect(),
    )
    .await;

    match ctx.queue.trim_completed(5_000).await {
        Ok(n) => report.trimmed = n,
        Err(err) => tracing::warn!(error = %err, "could not trim finished jobs from Redis"),
    }
    if prune {
        let longest = longest_window(ctx);
        if let Err(err) = ctx.store.windows().prune(longest).await {
            tracing::warn!(error = %err, "could not prune old window rows");
        }
    }
    Ok(report)
}

async fn push(ctx: &Ctx, jobs: Vec<(PublishJob, chrono::DateTime<Utc>)>) {
    for chunk in jobs.chunks(200) {
        if let Err(err) = ctx.queue.push_many(chunk).await {
            tracing::warn!(error = %err, "could not push to Redis; trying again next sweep");
            return;
        }
    }
}

/// One round of lookups of `sending` rows of deliveries that wait for another attempt.
async fn lookup_round(ctx: Arc<Ctx>) -> Result<LookupReport, StoreError> {
    let stale = ctx
        .store
        .journal()
        .unresolved_pending(Duration::from_secs(1), LOOKUP_BATCH)
        .await?;
    let deadline = tokio::time::Instant::now() + ctx.settings.sweep_lookup_budget;
    let (results, unfinished) = bounded(
        stale,
        ctx.settings.sweep_lookup_concurrency,
        deadline,
        |step| resolve_step(&ctx, step),
    )
    .await;
    let mut report = LookupReport {
        unfinished,
        ..LookupReport::default()
    };
    for result in results {
        match result {
            Ok(true) => report.resolved += 1,
            Ok(false) => {}
            Err(err) => {
                ctx.database.report(&err);
                tracing::debug!(error = %err, "a lookup could not be recorded; the next round tries again");
            }
        }
    }
    Ok(report)
}

/// Runs `work` on every item, `concurrency` at a time, until `deadline`: the results of the
/// items that finished, and how many did not (those still running are dropped, which for a
/// lookup means it is simply not recorded).
async fn bounded<T, R, F, Fut>(
    items: Vec<T>,
    concurrency: usize,
    deadline: tokio::time::Instant,
    work: F,
) -> (Vec<R>, usize)
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = R>,
{
    let total = items.len();
    let mut running = futures::stream::iter(items)
        .map(work)
        .buffer_unordered(concurrency.max(1));
    let mut done = Vec::with_capacity(total);
    while let Ok(Some(result)) = tokio::time::timeout_at(deadline, running.next()).await {
        done.push(result);
    }
    let unfinished = total - done.len();
    (done, unfinished)
}

/// Looks one stale row up and records what was found. True when the row was settled.
async fn resolve_step(ctx: &Ctx, step: Step) -> Result<bool, StoreError> {
    let Some(delivery) = ctx.store.deliveries().get(step.delivery_id).await? else {
        return Ok(false);
    };
    if delivery.platform == Platform::Telegram {
        return Ok(false); // cannot be looked up: the pipeline applies the tenant's policy
    }
    let Some(post) = ctx
        .store
        .posts()
        .get(delivery.tenant_id, delivery.post_id)
        .await?
    else {
        return Ok(false);
    };
    let content = delivery.content.clone().unwrap_or(post.content);
    let Some(index) = step
        .step
        .parse::<StepKey>()
        .ok()
        .and_then(|key| key.text_part())
    else {
        // An upload or container: the next attempt simply runs it again.
        return Ok(false);
    };
    let text = content.parts().nth(index).unwrap_or_default().to_owned();
    let Some(conn) = ctx
        .store
        .connections()
        .get_with_tokens(delivery.connection_id)
        .await?
    else {
        return Ok(false);
    };
    let since = step.started_at - TimeDelta::seconds(30);
    match ctx.platforms.lookup(&account_of(&conn), &text, since).await {
        Ok(Lookup::Found { remote_id, url }) => {
            let detail = json!({"url": url, "resolved_by": "sweeper_lookup"});
            ctx.store
                .journal()
                .settle(&step, Some(&remote_id), Some(&detail))
                .await
        }
        Ok(Lookup::NotFound) => {
            let detail = json!({"resolved_by": "sweeper_lookup", "found": false});
            ctx.store.journal().settle(&step, None, Some(&detail)).await
        }
        // Stays `sending`: the next attempt settles it (looks again, probes, or asks the
        // policy), never by a blind send.
        Ok(Lookup::CannotKnow | Lookup::Inconclusive { .. }) => Ok(false),
        Err(failure) => {
            tracing::debug!(%failure, "lookup failed; the next attempt looks again");
            Ok(false)
        }
    }
}

fn longest_window(ctx: &Ctx) -> Duration {
    let limits = &ctx.settings.limits;
    [
        Some(limits.x_window),
        limits.instagram_quota.map(|(_, w)| w),
        Some(limits.threads_quota.1),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(Duration::from_secs(86_400))
        + Duration::from_secs(3_600)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items that take `n` seconds each.
    async fn slow(n: u64) -> u64 {
        tokio::time::sleep(Duration::from_secs(n)).await;
        n
    }

    #[tokio::test(start_paused = true)]
    async fn a_round_runs_its_items_side_by_side_and_stops_at_its_deadline() {
        let start = tokio::time::Instant::now();
        // Eight at once: the eight 1 s items all finish at 1 s, the two 10 s ones are cut
        // off by the 3 s deadline.
        let items = vec![1, 1, 1, 1, 10, 1, 1, 1, 1, 10];
        let (mut done, unfinished) = bounded(items, 8, start + Duration::from_secs(3), slow).await;
        done.sort_unstable();
        assert_eq!(done, [1; 8]);
        assert_eq!(unfinished, 2);
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(3),
            "it ends at the deadline"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_round_whose_items_all_finish_ends_early() {
        let start = tokio::time::Instant::now();
        let (done, unfinished) =
            bounded(vec![1, 2, 1], 2, start + Duration::from_secs(60), slow).await;
        assert_eq!(done.len(), 3);
        assert_eq!(unfinished, 0);
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_bounds_how_many_run_at_once() {
        let start = tokio::time::Instant::now();
        // One at a time: four 1 s items take 4 s, so a 2.5 s budget finishes two.
        let (done, unfinished) = bounded(
            vec![1, 1, 1, 1],
            1,
            start + Duration::from_millis(2_500),
            slow,
        )
        .await;
        assert_eq!((done.len(), unfinished), (2, 2));
    }
}
