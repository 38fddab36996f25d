//! What each way a run ends does to the delivery: one guarded transition (the lease owner's
//! `running` -> next state, with its event), and for the states that come back a job pushed
//! to Redis for their `run_at`. If the push fails the delivery is still safe in Postgres and
//! the sweeper dispatches it once it is overdue.
//!
//! | ended | state | attempt |
//! |---|---|---|
//! | published | `published` (+ remote id, URL, degraded flags) | kept |
//! | retryable failure, attempts left | `retrying`, `run_at` from the retry schedule or the platform's Retry-After | kept |
//! | retryable failure, none left, or too many runs cut by worker deaths | `dead` | kept |
//! | inconclusive lookup (the publish may exist), attempts left | `retrying`: it looks again, never sends | kept |
//! | inconclusive lookup, none left | `unknown` | kept |
//! | rate limited (gate or platform) | `rate_limited`, `run_at` = when the window frees | given back |
//! | permanent / reconnect required | `failed` with the platform's code and hint | kept |
//! | outcome unknown, policy `unknown` | `unknown` | kept |
//! | checkpoint (shutdown) | `queued`, due now | given back |
//! | lease lost | nothing: another worker owns it | - |
//!
//! The table is [`decide`], a pure function of how the run ended, the delivery's attempts,
//! the retry schedule and the time; [`record`] writes what it decided.

use chrono::{DateTime, Utc};
use herald_domain::{DeliveryId, DeliveryState, ErrorClass, PlatformFailure, PublishJob};
use herald_store::{Attempts, Delivery, DeliveryError, Transition};

use crate::context::Ctx;
use crate::metrics::Handled;
use crate::publish::Ended;
use crate::retry::RetrySchedule;

const RUNNING: &[DeliveryState] = &[DeliveryState::Running];

/// The hint of a permanent failure the catalogue has none for.
const PERMANENT_HINT: &str = "The platform refused this post as sent; change it (or the connection's permissions) before retrying it";
/// The hint of a reconnect-required failure the catalogue has none for.
const RECONNECT_HINT: &str = "Ask the account owner to connect the account again";

/// The delivery a run ended for, as far as the table needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tries<'a> {
    pub(crate) id: DeliveryId,
    /// This worker, which must still hold the lease for the move to happen.
    pub(crate) worker: &'a str,
    /// Claims so far, this run's included.
    pub(crate) attempts: i32,
    pub(crate) max_attempts: i32,
}

/// What the table decided for one ended run.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Record nothing: another worker owns the delivery.
    Leave,
    /// Make this guarded move; then, when `push_at` is set, push the job for that time.
    Move {
        transition: Box<Transition>,
        push_at: Option<DateTime<Utc>>,
        label: Handled,
    },
}

/// The outcome table: what `ended` does to the delivery (see the module's table).
pub(crate) fn decide(
    ended: Ended,
    tries: Tries<'_>,
    retry: &RetrySchedule,
    now: DateTime<Utc>,
) -> Decision {
    let base = |to| Transition::new(tries.id, RUNNING, to).by_lease_owner(tries.worker);
    let (transition, push_at, label) = match ended {
        Ended::Published(outcome) => (
            base(DeliveryState::Published).outcome(outcome),
            None,
            Handled::Published,
        ),
        Ended::LeaseLost => return Decision::Leave,
        Ended::Checkpoint => (
            base(DeliveryState::Queued)
                .run_at(now)
                .attempts(Attempts::Refund)
                .detail("reason", "worker_shutdown"),
            Some(now),
            Handled::Checkpointed,
        ),
        Ended::Wait { until, gate } => (
            base(DeliveryState::RateLimited)
                .run_at(until)
                .attempts(Attempts::Refund)
                .error(DeliveryError {
                    class: ErrorClass::RateLimited,
                    code: Some(gate.as_str().to_owned()),
                    message: format!("waiting for the {gate} rate gate"),
                    hint: Some(
                        "Herald publishes it when the window frees; nothing to do".to_owned(),
                    ),
                })
                .detail("gate", gate.as_str()),
            Some(until),
            Handled::RateLimited,
        ),
        Ended::Unknown(failure) => (
            base(DeliveryState::Unknown).error(DeliveryError::from(&failure)),
            None,
            Handled::Unknown,
        ),
        Ended::Failed(failure) => {
            let (to, at, label) = after_failure(&failure, tries, retry, now);
            let mut error = DeliveryError::from(&failure);
            if to == DeliveryState::Failed && error.hint.is_none() {
                // Every failure says what to do, even one the catalogue does not know.
                error.hint = Some(
                    if failure.class == ErrorClass::Permanent {
                        PERMANENT_HINT
                    } else {
                        RECONNECT_HINT
                    }
                    .to_owned(),
                );
            }
            let mut transition = base(to).error(error);
            if let Some(at) = at {
                transition = transition.run_at(at);
            }
            if failure.class == ErrorClass::RateLimited {
                transition = transition.attempts(Attempts::Refund);
            }
            (transition, at, label)
        }
    };
    Decision::Move {
        transition: Box::new(transition),
        push_at,
        label,
    }
}

/// Where a failed run goes, and when it runs again (the `run_at` and the push time).
fn after_failure(
    failure: &PlatformFailure,
    tries: Tries<'_>,
    retry: &RetrySchedule,
    now: DateTime<Utc>,
) -> (DeliveryState, Option<DateTime<Utc>>, Handled) {
    match failure.class {
        ErrorClass::RateLimited => {
            let until = failure
                .retry_at
                .filter(|at| *at > now)
                .unwrap_or_else(|| retry.next_run(1, now, None));
            (
                DeliveryState::RateLimited,
                Some(until),
                Handled::RateLimited,
            )
        }
        ErrorClass::Retryable | ErrorClass::UnknownOutcome => {
            if tries.attempts >= tries.max_attempts
                && failure.herald_code == Some(herald_domain::Code::LookupInconclusive)
            {
                // The post may well exist: not dead, but an outcome for an operator to settle.
                (DeliveryState::Unknown, None, Handled::Unknown)
            } else if tries.attempts >= tries.max_attempts
                || failure.herald_code == Some(herald_domain::Code::RunsInterrupted)
            {
                (DeliveryState::Dead, None, Handled::Dead)
            } else {
                let attempt = u32::try_from(tries.attempts).unwrap_or(0);
                let at = retry.next_run(attempt, now, failure.retry_at);
                (DeliveryState::Retrying, Some(at), Handled::Retrying)
            }
        }
        ErrorClass::Permanent | ErrorClass::ReconnectRequired => {
            (DeliveryState::Failed, None, Handled::Failed)
        }
    }
}

/// Records how the run of `delivery` ended. Returns the outcome's metric label.
pub(crate) async fn record(
    ctx: &Ctx,
    delivery: &Delivery,
    job: &PublishJob,
    ended: Ended,
) -> Handled {
    match &ended {
        Ended::Wait { gate, .. } => ctx.metrics.rate_limited(delivery.platform, *gate),
        Ended::Failed(failure) | Ended::Unknown(failure) => ctx.metrics.failure(failure),
        _ => {}
    }
    let tries = Tries {
        id: delivery.id,
        worker: ctx.worker(),
        attempts: delivery.attempts,
        max_attempts: delivery.max_attempts,
    };
    let (transition, push_at, label) = match decide(ended, tries, &ctx.settings.retry, Utc::now()) {
        Decision::Leave => {
            tracing::warn!("the lease was lost; leaving the delivery to its new owner");
            return Handled::LeaseLost;
        }
        Decision::Move {
            transition,
            push_at,
            label,
        } => (transition, push_at, label),
    };
    // Grouped with other deliveries' writes; answered once committed.
    let moved = ctx.writer.transition(*transition).await;
    match moved {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(outcome = %label, "the delivery was no longer ours to record");
            return Handled::LeaseLost;
        }
        Err(err) => {
            // The lease will expire and the journal tells the next owner what happened.
            tracing::error!(error = %err, outcome = %label, "could not record the outcome");
            return Handled::StoreError;
        }
    }
    if let Some(at) = push_at
        && let Err(err) = ctx.queue.push(job, at).await
    {
        tracing::warn!(error = %err, "could not push the next run; the sweeper will dispatch it");
    }
    label
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeDelta;
    use herald_domain::{Code, Platform};
    use herald_store::Outcome;

    use super::*;
    use crate::gates::Gate;

    /// Five seconds, then a minute; no jitter, so every wait is exact.
    fn schedule() -> RetrySchedule {
        RetrySchedule::new(vec![Duration::from_secs(5), Duration::from_secs(60)], 0.0)
    }

    fn decide_with(
        ended: Ended,
        attempts: i32,
        now: DateTime<Utc>,
    ) -> (Transition, Option<DateTime<Utc>>, Handled) {
        let tries = Tries {
            id: DeliveryId::new(),
            worker: "worker-1",
            attempts,
            max_attempts: 3,
        };
        match decide(ended, tries, &schedule(), now) {
            Decision::Move {
                transition,
                push_at,
                label,
            } => {
                assert_eq!(transition.from, RUNNING);
                assert_eq!(transition.lease_owner.as_deref(), Some("worker-1"));
                (*transition, push_at, label)
            }
            Decision::Leave => panic!("expected a move"),
        }
    }

    fn failure(class: ErrorClass) -> PlatformFailure {
        PlatformFailure::new(class, Platform::Twitter, "no")
    }

    #[test]
    fn published_records_the_outcome_and_keeps_the_attempt() {
        let outcome = Outcome {
            remote_id: Some("123".to_owned()),
            public_url: Some("https://x.com/a/status/123".to_owned()),
            degraded: vec!["media_dropped".to_owned()],
        };
        let (t, push_at, label) = decide_with(Ended::Published(outcome.clone()), 1, Utc::now());
        assert_eq!(t.to, DeliveryState::Published);
        assert_eq!(t.outcome, Some(outcome));
        assert_eq!(t.attempts, Attempts::Keep);
        assert_eq!((t.run_at, push_at, t.error), (None, None, None));
        assert_eq!(label, Handled::Published);
    }

    #[test]
    fn a_retryable_failure_with_attempts_left_retries_on_the_schedule_or_the_platforms_word() {
        let now = Utc::now();
        let (t, push_at, label) =
            decide_with(Ended::Failed(failure(ErrorClass::Retryable)), 2, now);
        let at = now + TimeDelta::seconds(60);
        assert_eq!(
            (t.to, t.run_at, push_at),
            (DeliveryState::Retrying, Some(at), Some(at))
        );
        assert_eq!(t.attempts, Attempts::Keep);
        assert_eq!(t.error.map(|e| e.class), Some(ErrorClass::Retryable));
        assert_eq!(label, Handled::Retrying);

        // A later Retry-After wins; a publish whose outcome stayed unknown retries the same way.
        let later = now + TimeDelta::minutes(10);
        let (t, push_at, _) = decide_with(
            Ended::Failed(failure(ErrorClass::UnknownOutcome).with_retry_at(later)),
            1,
            now,
        );
        assert_eq!(
            (t.to, t.run_at, push_at),
            (DeliveryState::Retrying, Some(later), Some(later))
        );
    }

    #[test]
    fn a_delivery_whose_runs_keep_dying_with_their_workers_is_dead_with_attempts_left() {
        let (t, push_at, label) = decide_with(
            Ended::Failed(failure(ErrorClass::Retryable).with_herald_code(Code::RunsInterrupted)),
            1,
            Utc::now(),
        );
        assert_eq!(
            (t.to, push_at, label),
            (DeliveryState::Dead, None, Handled::Dead)
        );
        assert_eq!(
            t.error.and_then(|e| e.code).as_deref(),
            Some("runs_interrupted")
        );
    }

    #[test]
    fn an_inconclusive_lookup_is_rescheduled_and_at_the_end_left_to_an_operator() {
        let now = Utc::now();
        let inconclusive = || {
            Ended::Failed(failure(ErrorClass::Retryable).with_herald_code(Code::LookupInconclusive))
        };
        let (t, push_at, label) = decide_with(inconclusive(), 1, now);
        let at = now + TimeDelta::seconds(5);
        assert_eq!(
            (t.to, t.run_at, push_at, label),
            (
                DeliveryState::Retrying,
                Some(at),
                Some(at),
                Handled::Retrying
            )
        );
        // Out of attempts the post may still exist: unknown, not dead.
        let (t, push_at, label) = decide_with(inconclusive(), 3, now);
        assert_eq!(
            (t.to, push_at, label),
            (DeliveryState::Unknown, None, Handled::Unknown)
        );
    }

    #[test]
    fn a_duplicate_refusal_after_doubt_is_published_without_an_id_and_says_so() {
        let outcome = Outcome {
            remote_id: None,
            public_url: None,
            degraded: vec!["remote_id_unknown".to_owned()],
        };
        let (t, _, label) = decide_with(Ended::Published(outcome.clone()), 2, Utc::now());
        assert_eq!(
            (t.to, label),
            (DeliveryState::Published, Handled::Published)
        );
        assert_eq!(t.outcome, Some(outcome));
    }

    #[test]
    fn a_retryable_failure_with_no_attempt_left_is_dead() {
        let (t, push_at, label) =
            decide_with(Ended::Failed(failure(ErrorClass::Retryable)), 3, Utc::now());
        assert_eq!((t.to, t.run_at, push_at), (DeliveryState::Dead, None, None));
        assert_eq!(t.attempts, Attempts::Keep);
        assert_eq!(t.error.map(|e| e.message), Some("no".to_owned()));
        assert_eq!(label, Handled::Dead);
    }

    #[test]
    fn rate_limited_by_a_gate_or_the_platform_waits_for_the_window_and_gives_the_attempt_back() {
        let now = Utc::now();
        let until = now + TimeDelta::minutes(15);
        let (t, push_at, label) = decide_with(
            Ended::Wait {
                until,
                gate: Gate::Window,
            },
            3,
            now,
        );
        assert_eq!(
            (t.to, t.run_at, push_at),
            (DeliveryState::RateLimited, Some(until), Some(until))
        );
        assert_eq!(t.attempts, Attempts::Refund);
        let error = t.error.expect("a waiting delivery says why");
        assert_eq!(
            (error.class, error.code.as_deref()),
            (ErrorClass::RateLimited, Some("window"))
        );
        assert_eq!(t.detail.get("gate"), Some(&serde_json::json!("window")));
        assert_eq!(label, Handled::RateLimited);

        let (t, push_at, label) = decide_with(
            Ended::Failed(
                failure(ErrorClass::RateLimited)
                    .with_status(429)
                    .with_retry_at(until),
            ),
            3,
            now,
        );
        assert_eq!(
            (t.to, t.run_at, push_at),
            (DeliveryState::RateLimited, Some(until), Some(until))
        );
        assert_eq!(t.attempts, Attempts::Refund);
        assert_eq!(t.error.and_then(|e| e.code).as_deref(), Some("429"));
        assert_eq!(label, Handled::RateLimited);

        // A platform that named no reset (or one already past): the first retry's wait.
        let (t, _, _) = decide_with(Ended::Failed(failure(ErrorClass::RateLimited)), 1, now);
        assert_eq!(t.run_at, Some(now + TimeDelta::seconds(5)));
    }

    #[test]
    fn permanent_and_reconnect_required_fail_with_the_code_and_a_hint() {
        let refused = failure(ErrorClass::Permanent)
            .with_status(403)
            .with_platform_code("187")
            .with_hint("Change the text");
        let (t, push_at, label) = decide_with(Ended::Failed(refused), 1, Utc::now());
        assert_eq!(
            (t.to, t.run_at, push_at),
            (DeliveryState::Failed, None, None)
        );
        let error = t.error.expect("the failure is recorded");
        assert_eq!(error.code.as_deref(), Some("187"));
        assert_eq!(error.hint.as_deref(), Some("Change the text"));
        assert_eq!(label, Handled::Failed);

        // Without a hint from the catalogue, each class gets its own.
        let (t, _, _) = decide_with(Ended::Failed(failure(ErrorClass::Permanent)), 1, Utc::now());
        assert_eq!(
            t.error.and_then(|e| e.hint).as_deref(),
            Some(PERMANENT_HINT)
        );
        let reconnect =
            failure(ErrorClass::ReconnectRequired).with_herald_code(Code::NeedsReconnect);
        let (t, _, label) = decide_with(Ended::Failed(reconnect), 1, Utc::now());
        let error = t.error.expect("the failure is recorded");
        assert_eq!(t.to, DeliveryState::Failed);
        assert_eq!(error.code.as_deref(), Some("needs_reconnect"));
        assert_eq!(error.hint.as_deref(), Some(RECONNECT_HINT));
        assert_eq!(label, Handled::Failed);
    }

    #[test]
    fn an_unknown_outcome_under_the_unknown_policy_is_left_to_an_operator() {
        let lost = failure(ErrorClass::UnknownOutcome).with_herald_code(Code::OutcomeUnknown);
        let (t, push_at, label) = decide_with(Ended::Unknown(lost), 1, Utc::now());
        assert_eq!(
            (t.to, t.run_at, push_at),
            (DeliveryState::Unknown, None, None)
        );
        assert_eq!(t.attempts, Attempts::Keep);
        assert_eq!(
            t.error.and_then(|e| e.code).as_deref(),
            Some("outcome_unknown")
        );
        assert_eq!(label, Handled::Unknown);
    }

    #[test]
    fn a_checkpoint_queues_the_delivery_due_now_and_gives_the_attempt_back() {
        let now = Utc::now();
        let (t, push_at, label) = decide_with(Ended::Checkpoint, 2, now);
        assert_eq!(
            (t.to, t.run_at, push_at),
            (DeliveryState::Queued, Some(now), Some(now))
        );
        assert_eq!(t.attempts, Attempts::Refund);
        assert_eq!(
            t.detail.get("reason"),
            Some(&serde_json::json!("worker_shutdown"))
        );
        assert_eq!(label, Handled::Checkpointed);
    }

    #[test]
    fn a_lost_lease_records_nothing() {
        let tries = Tries {
            id: DeliveryId::new(),
            worker: "worker-1",
            attempts: 1,
            max_attempts: 3,
        };
        assert!(matches!(
            decide(Ended::LeaseLost, tries, &schedule(), Utc::now()),
            Decision::Leave
        ));
    }
}
