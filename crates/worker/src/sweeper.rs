//! The sweeper: what makes "Postgres is the truth" true.
//!
//! Redis carries jobs, but it can be flushed, restarted or simply not reached when the API
//! pushes after its commit. None of that may lose a post, so one process in the fleet (the
//! leader, holding a Postgres session advisory lock; if it dies its session ends and another
//! process takes over at its next tick) looks at Postgres every `sweep_interval` and:
//!
//! 1. **expires dead workers' leases**: `running` deliveries whose lease ran out go back to
//!    `retrying` (the attempt stays counted, so a delivery that kills its workers ends up
//!    `dead`) and are pushed to Redis;
//! 2. **resolves stale `sending` journal rows** of deliveries waiting for another attempt:
//!    the platform is searched for the post, and the row becomes `done` (found) or `failed`
//!    (not found), so the next attempt knows whether to send; a platform that cannot tell is
//!    left to the pipeline and the tenant's policy;
//! 3. **re-dispatches due deliveries that are not in flight**: anything claimable that has
//!    been due for `redispatch_after` without running is pushed again. A copy of a job that
//!    was only slow is harmless: the second claim finds nothing;
//! 4. **trims Redis**: finished jobs' ids, data and metadata (apalis-redis keeps them);
//!    and now and then prunes window rows older than every window.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use herald_domain::{Platform, PublishJob};
use herald_platforms::Lookup;
use herald_store::Leader;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::context::Ctx;
use crate::tokens::account_of;

const DUTY: &str = "herald-sweeper";
const BATCH: i64 = 500;

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub leases_expired: usize,
    pub steps_resolved: usize,
    pub redispatched: usize,
    pub trimmed: usize,
}

pub(crate) async fn run(ctx: Arc<Ctx>, stop: CancellationToken) {
    let mut leader: Option<Leader> = None;
    let mut ticker = tokio::time::interval(ctx.settings.sweep_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = ticker.tick() => {}
        }
        ticks += 1;
        if let Some(current) = leader.as_mut()
            && !current.still_leading().await
        {
            tracing::warn!("lost the sweeper's leadership");
            leader = None;
        }
        if leader.is_none() {
            match Leader::try_acquire(ctx.store.pool(), DUTY).await {
                Ok(Some(acquired)) => {
                    tracing::info!(worker = ctx.worker(), "leading the sweeper");
                    leader = Some(acquired);
                }
                Ok(None) => continue,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot ask for the sweeper's leadership");
                    continue;
                }
            }
        }
        match sweep_once(&ctx, ticks % 60 == 1).await {
            Ok(report) if report != SweepReport::default() => {
                tracing::info!(?report, "swept");
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "sweep failed; trying again next tick"),
        }
    }
    if let Some(leader) = leader
        && let Err(err) = leader.release().await
    {
        tracing::warn!(error = %err, "could not release the sweeper's leadership cleanly");
    }
}

/// One pass of every duty (the caller holds the leadership).
async fn sweep_once(ctx: &Ctx, prune: bool) -> Result<SweepReport, herald_store::StoreError> {
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

    report.steps_resolved = resolve_stale_steps(ctx).await?;

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

/// Resolves `sending` rows of deliveries that wait for another attempt, by lookup.
async fn resolve_stale_steps(ctx: &Ctx) -> Result<usize, herald_store::StoreError> {
    let journal = ctx.store.journal();
    let stale = journal
        .unresolved_pending(Duration::from_secs(1), 100)
        .await?;
    let mut resolved = 0;
    for step in stale {
        let Some(delivery) = ctx.store.deliveries().get(step.delivery_id).await? else {
            continue;
        };
        if delivery.platform == Platform::Telegram {
            continue; // cannot be looked up: the pipeline applies the tenant's policy
        }
        let Some(post) = ctx
            .store
            .posts()
            .get(delivery.tenant_id, delivery.post_id)
            .await?
        else {
            continue;
        };
        let content = delivery.content.clone().unwrap_or(post.content);
        let index = step
            .step
            .strip_prefix("part:")
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0);
        if step.step != "publish" && index == 0 {
            // An upload or container: the next attempt simply runs it again.
            continue;
        }
        let text = content.parts().nth(index).unwrap_or_default().to_owned();
        let Some(conn) = ctx
            .store
            .connections()
            .get_with_tokens(delivery.connection_id)
            .await?
        else {
            continue;
        };
        let since = step.started_at - TimeDelta::seconds(30);
        match ctx.platforms.lookup(&account_of(&conn), &text, since).await {
            Ok(Lookup::Found { remote_id, url }) => {
                let detail = json!({"url": url, "resolved_by": "sweeper_lookup"});
                if journal
                    .complete(
                        step.delivery_id,
                        &step.step,
                        Some(&remote_id),
                        Some(&detail),
                    )
                    .await?
                {
                    resolved += 1;
                }
            }
            Ok(Lookup::NotFound) => {
                let detail = json!({"resolved_by": "sweeper_lookup", "found": false});
                if journal
                    .fail(step.delivery_id, &step.step, Some(&detail))
                    .await?
                {
                    resolved += 1;
                }
            }
            // Stays `sending`: the next attempt settles it (looks again, probes, or asks the
            // policy), never by a blind send.
            Ok(Lookup::CannotKnow | Lookup::Inconclusive { .. }) => {}
            Err(failure) => {
                tracing::debug!(%failure, "lookup failed; the next attempt looks again");
            }
        }
    }
    Ok(resolved)
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
