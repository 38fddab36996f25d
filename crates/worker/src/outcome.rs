//! What each way a run ends does to the delivery: one guarded transition (the lease owner's
//! `running` -> next state, with its event), and for the states that come back a job pushed
//! to Redis for their `run_at`. If the push fails the delivery is still safe in Postgres and
//! the sweeper dispatches it once it is overdue.
//!
//! | ended | state | attempt |
//! |---|---|---|
//! | published | `published` (+ remote id, URL, degraded flags) | kept |
//! | retryable failure, attempts left | `retrying`, `run_at` from the retry schedule or the platform's Retry-After | kept |
//! | retryable failure, none left | `dead` | kept |
//! | rate limited (gate or platform) | `rate_limited`, `run_at` = when the window frees | given back |
//! | permanent / reconnect required | `failed` with the platform's code and hint | kept |
//! | outcome unknown, policy `unknown` | `unknown` | kept |
//! | checkpoint (shutdown) | `queued`, due now | given back |
//! | lease lost | nothing: another worker owns it | - |

use chrono::{DateTime, Utc};
use herald_domain::{DeliveryState, ErrorClass, PlatformFailure, PublishJob};
use herald_store::{Attempts, Delivery, DeliveryError, Transition};

use crate::context::Ctx;
use crate::publish::Ended;

const RUNNING: &[DeliveryState] = &[DeliveryState::Running];

/// Records how the run of `delivery` ended. Returns the outcome's metric label.
pub(crate) async fn record(
    ctx: &Ctx,
    delivery: &Delivery,
    job: &PublishJob,
    ended: Ended,
) -> &'static str {
    let now = Utc::now();
    let base = |to| Transition::new(delivery.id, RUNNING, to).by_lease_owner(ctx.worker());
    let (transition, push_at, label): (Transition, Option<DateTime<Utc>>, &'static str) =
        match ended {
            Ended::Published(outcome) => (
                base(DeliveryState::Published).outcome(outcome),
                None,
                "published",
            ),
            Ended::LeaseLost => {
                tracing::warn!("the lease was lost; leaving the delivery to its new owner");
                return "lease_lost";
            }
            Ended::Checkpoint => (
                base(DeliveryState::Queued)
                    .run_at(now)
                    .attempts(Attempts::Refund)
                    .detail("reason", "worker_shutdown"),
                Some(now),
                "checkpointed",
            ),
            Ended::Wait { until, gate } => {
                ctx.metrics.rate_limited(delivery.platform, gate);
                (
                    base(DeliveryState::RateLimited)
                        .run_at(until)
                        .attempts(Attempts::Refund)
                        .error(DeliveryError {
                            class: ErrorClass::RateLimited,
                            code: Some(gate.to_owned()),
                            message: format!("waiting for the {gate} rate gate"),
                            hint: Some(
                                "Herald publishes it when the window frees; nothing to do"
                                    .to_owned(),
                            ),
                        })
                        .detail("gate", gate),
                    Some(until),
                    "rate_limited",
                )
            }
            Ended::Unknown(failure) => (
                base(DeliveryState::Unknown).error(DeliveryError::from(&failure)),
                None,
                "unknown",
            ),
            Ended::Failed(failure) => failed(ctx, delivery, &failure, now),
        };
    let moved = ctx.store.deliveries().transition(transition).await;
    match moved {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(outcome = label, "the delivery was no longer ours to record");
            return "lease_lost";
        }
        Err(err) => {
            // The lease will expire and the journal tells the next owner what happened.
            tracing::error!(error = %err, outcome = label, "could not record the outcome");
            return "store_error";
        }
    }
    if let Some(at) = push_at
        && let Err(err) = ctx.queue.push(job, at).await
    {
        tracing::warn!(error = %err, "could not push the next run; the sweeper will dispatch it");
    }
    label
}

fn failed(
    ctx: &Ctx,
    delivery: &Delivery,
    failure: &PlatformFailure,
    now: DateTime<Utc>,
) -> (Transition, Option<DateTime<Utc>>, &'static str) {
    let base = |to| Transition::new(delivery.id, RUNNING, to).by_lease_owner(ctx.worker());
    let error = DeliveryError::from(failure);
    let attempt = u32::try_from(delivery.attempts).unwrap_or(0);
    match failure.class {
        ErrorClass::RateLimited => {
            let until = failure
                .retry_at
                .filter(|at| *at > now)
                .unwrap_or_else(|| ctx.settings.retry.next_run(1, now, None));
            (
                base(DeliveryState::RateLimited)
                    .run_at(until)
                    .attempts(Attempts::Refund)
                    .error(error),
                Some(until),
                "rate_limited",
            )
        }
        ErrorClass::Retryable | ErrorClass::UnknownOutcome => {
            if delivery.attempts >= delivery.max_attempts {
                (base(DeliveryState::Dead).error(error), None, "dead")
            } else {
                let at = ctx.settings.retry.next_run(attempt, now, failure.retry_at);
                (
                    base(DeliveryState::Retrying).run_at(at).error(error),
                    Some(at),
                    "retrying",
                )
            }
        }
        ErrorClass::Permanent | ErrorClass::ReconnectRequired => {
            let mut error = error;
            if error.hint.is_none() {
                // Every failure says what to do, even one the catalogue does not know.
                error.hint = Some(if failure.class == ErrorClass::Permanent {
                    "The platform refused this post as sent; change it (or the connection's permissions) before retrying it".to_owned()
                } else {
                    "Ask the account owner to connect the account again".to_owned()
                });
            }
            (base(DeliveryState::Failed).error(error), None, "failed")
        }
    }
}
