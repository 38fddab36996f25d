//! The life of one job (docs/ARCHITECTURE.md, the life of a post): claim, then everything the delivery needs
//! before its plan runs through the journal, then the record.

use std::sync::Arc;
use std::time::Instant;

use herald_domain::rules::validate_content;
use herald_domain::{Code, ConnectionStatus, ErrorClass, PlatformFailure, PublishJob};
use herald_store::Claimed;
use secrecy::ExposeSecret;
use tracing::Instrument;

use crate::claim::{self, Lease};
use crate::context::Ctx;
use crate::metrics::Handled;
use crate::outcome;
use crate::publish::{Ended, Run};
use crate::tokens::{self, store_failure};

/// Handles one job from Redis. Never fails from the queue's point of view: every outcome is
/// recorded in Postgres, and what could not be recorded is recovered by the sweeper.
pub(crate) async fn handle(ctx: Arc<Ctx>, job: PublishJob) {
    let span = tracing::info_span!(
        "delivery",
        delivery_id = %job.delivery_id,
        platform = tracing::field::Empty,
        traceparent = job.trace.get("traceparent").map(String::as_str).unwrap_or_default(),
    );
    continue_trace(&span, &job);
    async move {
        if ctx.stopping.is_cancelled() {
            // Stopping: leave the job for another worker.
            if let Err(err) = ctx.queue.push(&job, chrono::Utc::now()).await {
                tracing::warn!(error = %err, "could not hand the job back; the sweeper will");
            }
            return;
        }
        let claimed = match claim::claim(&ctx, &job).await {
            Ok(Some(claimed)) => claimed,
            Ok(None) => {
                ctx.metrics.duplicate();
                tracing::debug!("nothing to claim: a duplicate, finished, or not yet due");
                return;
            }
            Err(err) => {
                tracing::warn!(error = %err, "could not claim; the sweeper will dispatch it again");
                return;
            }
        };
        let platform = claimed.delivery.platform;
        tracing::Span::current().record("platform", platform.as_str());
        let id = claimed.delivery.id;
        ctx.track(id);
        let started = Instant::now();
        let lease = Lease::hold(&ctx, &claimed);
        let ended = tokio::select! {
            ended = run(&ctx, &claimed, &lease) => Some(ended),
            () = ctx.hard_stop.cancelled() => None,
        };
        let label = match ended {
            Some(ended) => outcome::record(&ctx, &claimed.delivery, &job, ended).await,
            None => abandon(&ctx, &claimed, &job).await,
        };
        drop(lease);
        ctx.untrack(id);
        ctx.metrics.outcome(&claimed.delivery, label);
        ctx.metrics.run_time(platform, started.elapsed());
        tracing::info!(
            outcome = %label,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "delivery handled"
        );
    }
    .instrument(span)
    .await;
}

/// Everything between the claim and the record.
async fn run(ctx: &Ctx, claimed: &Claimed, lease: &Lease) -> Ended {
    let delivery = &claimed.delivery;
    let platform = delivery.platform;
    if claimed.interrupted >= ctx.settings.max_interrupted_runs {
        // Its runs keep dying with their workers: this one may be what kills them.
        return Ended::Failed(
            PlatformFailure::new(
                ErrorClass::Retryable,
                platform,
                format!(
                    "the workers running it stopped {} times before it finished",
                    claimed.interrupted
                ),
            )
            .with_herald_code(Code::RunsInterrupted)
            .with_hint(
                "Look in the worker logs for what stopped them (out of memory, a crash) \
                 around this delivery's runs, then retry it",
            ),
        );
    }
    let slot = ctx.slot(platform);
    let _permit = tokio::select! {
        permit = slot.acquire_owned() => match permit {
            Ok(permit) => permit,
            Err(_) => return Ended::Checkpoint,
        },
        () = ctx.stopping.cancelled() => return Ended::Checkpoint,
    };
    if let Err(violations) = validate_content(platform, &claimed.content, &ctx.settings.rules) {
        return Ended::Failed(
            PlatformFailure::new(ErrorClass::Permanent, platform, violations.to_string())
                .with_herald_code(Code::Content)
                .with_hint("Change the post to fit the platform's rules"),
        );
    }
    // Read at most a second ago (`crate::cache`): a burst on one connection reads it once.
    let conn = match ctx
        .connections
        .get(&ctx.store, delivery.connection_id)
        .await
    {
        Ok(Some(conn)) => conn,
        Ok(None) => {
            return Ended::Failed(
                PlatformFailure::new(
                    ErrorClass::Permanent,
                    platform,
                    "the connection was deleted",
                )
                .with_herald_code(Code::ConnectionGone),
            );
        }
        Err(err) => return Ended::Failed(store_failure(platform, &err)),
    };
    if conn.connection.status != ConnectionStatus::Active {
        return Ended::Failed(tokens::reconnect(
            platform,
            &format!("the connection is {}", conn.connection.status),
        ));
    }
    let read_token = conn.access_token.clone();
    let conn = match tokens::ensure_fresh(ctx, conn).await {
        Ok(conn) => conn,
        Err(failure) => {
            ctx.connections.forget(delivery.connection_id);
            return Ended::Failed(failure);
        }
    };
    if conn.access_token.expose_secret() != read_token.expose_secret() {
        ctx.connections.forget(delivery.connection_id);
    }
    let connection_id = conn.connection.id;
    let account = tokens::account_of(&conn);
    let plan = match ctx.platforms.plan(&account, &claimed.content) {
        Ok(plan) => plan,
        Err(failure) => return Ended::Failed(failure),
    };
    // Videos are spooled to files that live as long as this run: dropping the spool at
    // the end of this function deletes them, however the run ends.
    let mut spool = ctx.media.spool();
    let media = if claimed.content.media.is_empty() {
        Vec::new()
    } else {
        match ctx
            .media
            .load(
                &ctx.store,
                delivery.tenant_id,
                platform,
                &claimed.content,
                &ctx.settings.rules,
                &mut spool,
            )
            .await
        {
            Ok(media) => media,
            Err(failure) => return Ended::Failed(failure),
        }
    };
    let ended = Run {
        ctx,
        delivery_id: delivery.id,
        conn,
        content: &claimed.content,
        media: &media,
        lease,
        tenant_id: delivery.tenant_id,
    }
    .execute(&plan)
    .await;
    if let Ended::Failed(failure) = &ended
        && failure.class == ErrorClass::ReconnectRequired
        && failure.herald_code != Some(Code::NeedsReconnect)
    {
        // The platform refused the token for good: stop every other delivery on it too.
        ctx.connections.forget(connection_id);
        if let Err(err) = ctx
            .store
            .connections()
            .mark_needs_reconnect(connection_id, &failure.to_string())
            .await
        {
            tracing::warn!(error = %err, "could not mark the connection needs_reconnect");
        }
    }
    ended
}

/// The grace period ran out mid-run. A delivery with a call in flight keeps its lease (the
/// journal's `sending` row is resolved by lookup once it expires); one between steps goes
/// back to the queue now.
async fn abandon(ctx: &Ctx, claimed: &Claimed, job: &PublishJob) -> Handled {
    let id = claimed.delivery.id;
    let in_flight = match ctx.store.journal().steps(id).await {
        Ok(steps) => steps
            .iter()
            .any(|s| s.state == herald_domain::StepState::Sending),
        Err(_) => true,
    };
    if in_flight {
        tracing::warn!(
            "stopped with a platform call in flight; its lease will expire and the journal resolves it"
        );
        return Handled::Abandoned;
    }
    outcome::record(ctx, &claimed.delivery, job, Ended::Checkpoint).await
}

/// Makes `span` a child of the trace the job was enqueued in (its W3C trace context), so one
/// trace runs from the API request to the platform calls. Nothing happens without OTLP export.
fn continue_trace(span: &tracing::Span, job: &PublishJob) {
    struct Fields<'a>(&'a std::collections::BTreeMap<String, String>);
    impl opentelemetry::propagation::Extractor for Fields<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).map(String::as_str)
        }
        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(String::as_str).collect()
        }
    }
    if job.trace.is_empty() {
        return;
    }
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&Fields(&job.trace))
    });
    // Without the OpenTelemetry layer there is nothing to attach to.
    let _ = tracing_opentelemetry::OpenTelemetrySpanExt::set_parent(span, parent);
}
