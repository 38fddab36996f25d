//! Running a publish plan through the journal.
//!
//! **Why a journal.** Jobs run at least once, posts must appear at most once. Every step of a
//! plan (`media:0`, `container`, `publish`, `part:1`, ...) is written to `delivery_steps` as
//! `sending` *before* its platform call and `done` with the remote id *after* it, or `failed`
//! when the platform refused it. Whoever inserts the `sending` row owns the call, so two
//! attempts can never both send one step.
//!
//! **Resuming.** A later attempt walks the same plan: a `done` step is skipped and its remote
//! id fed to the steps after it (an uploaded image, a created container, a thread part already
//! posted); a `failed` step is sent again. Uploads and containers are side effects nobody
//! sees, so one whose outcome was lost is simply run again.
//!
//! **Unknown outcomes.** A publishing step whose answer was lost (a timeout, a dropped
//! connection, a crash between `sending` and `done`) may have posted. It is never sent again
//! blindly: the platform is searched for the post ([`herald_platforms::Platforms::lookup`]).
//! Found: the step is `done` with the id found. Not found (a complete search): the step is
//! `failed` and the next attempt sends it. Inconclusive: it stays `sending` and is looked up
//! again. The platform cannot tell: a recent text-only publish on a platform that refuses a
//! recent identical post is sent again as a probe; otherwise the tenant's policy decides:
//! `unknown` (the default; an operator resolves it, nothing is posted twice) or `republish`.
//! The decisions are `doubt.rs`'s.
//!
//! **Doubt.** A step settled as "send again" stays marked in the journal (`doubt`, and when
//! its first attempt was sent), so a duplicate refusal of any later attempt is read as what it
//! is: the first attempt landed. The delivery is published with the id the refusal names
//! (read back), or one a lookup finds, or none (flagged `remote_id_unknown`).
//!
//! **Group commit.** Journal writes go through the process' writer (`crate::group`): a
//! `sending` row is committed before its call exactly as before, only in one commit with
//! other deliveries' rows.
//!
//! **Rate gates** are asked before every publishing request (each thread part counts), so a
//! thread that meets a full window stops between parts and resumes after it.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::{
    Code, DeliveryId, ErrorClass, PlatformFailure, PostContent, StepState, UnknownOutcomePolicy,
};
use herald_platforms::{
    Account, DegradedKind, DuplicateRefusal, MediaInput, PriorResults, PublishOptions, Step,
    StepAction, StepContext, StepOutcome, refresh_may_help,
};
use herald_store::{ConnectionWithTokens, Outcome, Step as JournalStep, StepStart};
use serde_json::json;

use crate::claim::Lease;
use crate::context::Ctx;
use crate::doubt::{self, Next, Prior, ResolvedBy};
use crate::gates::{self, Admission, Gate};
use crate::tokens::{self, Need, store_failure};

/// The longest a first comment waits in place for a rate window to free; past that it is
/// not sent (the post is not held back for it).
const COMMENT_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// How a publish run ended.
#[derive(Debug)]
pub(crate) enum Ended {
    Published(Outcome),
    Failed(PlatformFailure),
    /// A gate is closed until `until`.
    Wait {
        until: DateTime<Utc>,
        gate: Gate,
    },
    /// The outcome cannot be known and the policy says leave it to an operator.
    Unknown(PlatformFailure),
    /// Stopped between steps (shutdown): nothing is in flight, hand the delivery back.
    Checkpoint,
    /// The lease was lost: another worker may own the delivery; record nothing.
    LeaseLost,
}

/// Everything one run needs.
pub(crate) struct Run<'a> {
    pub(crate) ctx: &'a Ctx,
    pub(crate) delivery_id: DeliveryId,
    pub(crate) conn: ConnectionWithTokens,
    pub(crate) content: &'a PostContent,
    pub(crate) media: &'a [MediaInput],
    pub(crate) lease: &'a Lease,
    pub(crate) tenant_id: herald_domain::TenantId,
}

impl Run<'_> {
    /// Marks a `sending` step done. Journal writes once the platform call has happened are
    /// best effort: a step left `sending` is resolved by lookup (the sweeper), so a failed
    /// write must not fail the delivery, but it must not pass silently either.
    async fn mark_done(
        &self,
        key: &str,
        remote_id: Option<&str>,
        detail: Option<&serde_json::Value>,
    ) {
        let written = self
            .ctx
            .writer
            .complete(self.delivery_id, key, remote_id, detail)
            .await;
        self.journaled(written, key);
    }

    /// Marks a `sending` step failed (it may be sent again); best effort, as [`Self::mark_done`].
    async fn mark_failed(&self, key: &str, detail: Option<&serde_json::Value>) {
        let written = self.ctx.writer.fail(self.delivery_id, key, detail).await;
        self.journaled(written, key);
    }

    fn journaled(&self, written: Result<bool, herald_store::StoreError>, step: &str) {
        if let Err(error) = written {
            tracing::warn!(
                %error,
                delivery = %self.delivery_id,
                step,
                "journal write failed; the step will be resolved by lookup"
            );
        }
    }

    /// Runs `plan`, resuming from the journal.
    pub(crate) async fn execute(mut self, plan: &[Step]) -> Ended {
        let journal = self.ctx.store.journal();
        let platform = self.conn.connection.platform;
        let recorded: HashMap<String, JournalStep> = match journal.steps(self.delivery_id).await {
            Ok(steps) => steps.into_iter().map(|s| (s.step.clone(), s)).collect(),
            Err(err) => return Ended::Failed(store_failure(platform, &err)),
        };
        let mut prior = PriorResults::new();
        let mut published: Option<(String, Option<String>)> = None;
        let mut degraded: Vec<String> = Vec::new();

        // A published step whose id the platform never named (a duplicate refusal after
        // doubt, on X): nothing may reply to it.
        let mut unnamed: Option<String> = None;
        for step in plan {
            if let Some(row) = recorded.get(step.key.as_str())
                && row.state == StepState::Done
            {
                let remote_id = row.remote_id.clone().unwrap_or_default();
                if step.publishes() && remote_id.is_empty() {
                    unnamed = Some(step.key.to_string());
                    degraded.push(DegradedKind::RemoteIdUnknown.as_str().to_owned());
                }
                if step.action == StepAction::Publish {
                    published = Some((remote_id.clone(), url_of(row)));
                }
                prior.insert(step.key.clone(), remote_id);
                continue;
            }
            if self.lease.is_lost() {
                return Ended::LeaseLost;
            }
            if self.ctx.stopping.is_cancelled() {
                return Ended::Checkpoint;
            }
            if step.action == StepAction::Comment {
                let missed = match unnamed.as_deref() {
                    // Nothing to comment on: the post is up, but under no id Herald knows.
                    Some(before) => {
                        tracing::warn!(delivery = %self.delivery_id, step = before, "the first comment was not sent: the post's id is unknown");
                        Some(DegradedKind::FirstCommentFailed)
                    }
                    None => match self.comment_step(step, &prior).await {
                        Ok(missed) => missed,
                        Err(ended) => return ended,
                    },
                };
                degraded.extend(missed.map(|kind| kind.as_str().to_owned()));
                continue;
            }
            if step.publishes()
                && let Some(before) = unnamed.as_deref()
            {
                return Ended::Failed(
                    PlatformFailure::new(
                        ErrorClass::Permanent,
                        platform,
                        format!(
                            "`{before}` was published (the platform refused a repeat of it as a duplicate) but the platform never named it, so `{}` cannot reply to it",
                            step.key
                        ),
                    )
                    .with_herald_code(Code::RemoteIdUnknown)
                    .with_hint("The first part is on the platform: post the rest of the thread by hand, replying to it"),
                );
            }
            let result = if step.publishes() {
                self.publishing_step(step, &prior, recorded.get(step.key.as_str()))
                    .await
            } else {
                self.repeatable_step(step, &prior).await
            };
            match result {
                Ok(done) => {
                    if step.action == StepAction::Publish {
                        published = Some((done.remote_id.clone(), done.url.clone()));
                    }
                    if step.publishes() && done.remote_id.is_empty() {
                        unnamed = Some(step.key.to_string());
                    }
                    degraded.extend(done.degraded.iter().map(|d| d.kind.as_str().to_owned()));
                    prior.insert(step.key.clone(), done.remote_id);
                }
                Err(ended) => return ended,
            }
        }
        let (remote_id, public_url) = published.unzip();
        degraded.sort();
        degraded.dedup();
        Ended::Published(Outcome {
            remote_id: remote_id.filter(|id| !id.is_empty()),
            public_url: public_url.flatten(),
            degraded,
        })
    }

    /// An upload, a container or a wait: journaled, and run again when its outcome is lost.
    async fn repeatable_step(&mut self, step: &Step, prior: &PriorResults) -> Result<Done, Ended> {
        let journal = &self.ctx.writer;
        let platform = step.platform;
        let key = step.key.as_str();
        match journal.begin(self.delivery_id, key, None).await {
            Ok(StepStart::AlreadyDone(row)) => return Ok(Done::from_row(&row)),
            Ok(StepStart::Started(_) | StepStart::OutcomeUnknown(_)) => {}
            Err(err) => return Err(Ended::Failed(store_failure(platform, &err))),
        }
        match self.call(step, prior).await {
            Ok(outcome) => {
                self.mark_done(key, Some(&outcome.remote_id), None).await;
                Ok(Done::from_outcome(outcome))
            }
            Err(failure) => {
                self.mark_failed(key, Some(&json!({"error": failure.to_string()})))
                    .await;
                Err(Ended::Failed(failure))
            }
        }
    }

    /// A step that makes something visible: gated, journaled, and never sent twice.
    ///
    /// `earlier` is the journal row an earlier attempt left for it: a step whose earlier
    /// attempt had an unknown outcome stays *in doubt* ([`doubt::Prior`]), and then a
    /// duplicate refusal means that attempt landed.
    async fn publishing_step(
        &mut self,
        step: &Step,
        prior: &PriorResults,
        earlier: Option<&JournalStep>,
    ) -> Result<Done, Ended> {
        let journal = &self.ctx.writer;
        let platform = step.platform;
        let key = step.key.as_str();
        let text = part_text(self.content, step);
        let mut doubt = doubt::prior(earlier);
        if let Prior::Probe { first_sent } = doubt
            && !self.may_probe(step, first_sent)
        {
            // The probe was settled on but not sent in time: an identical re-send would no
            // longer meet the platform's duplicate check, so it decides nothing.
            doubt = self.cannot_know(step, first_sent).await?;
        }
        let marker = doubt.mark(json!({}));
        match journal.begin(self.delivery_id, key, Some(&marker)).await {
            Ok(StepStart::AlreadyDone(row)) => return Ok(Done::from_row(&row)),
            Ok(StepStart::Started(_)) => {}
            Ok(StepStart::OutcomeUnknown(row)) => {
                // An earlier attempt sent it and never heard back.
                let first_sent = doubt::first_sent(&row);
                match self.settle(step, row.started_at, first_sent, &text).await? {
                    Settled::Posted(done) => return Ok(done),
                    Settled::Send(after) => {
                        doubt = after;
                        self.begin_again(step, doubt).await?;
                    }
                }
            }
            Err(err) => return Err(Ended::Failed(store_failure(platform, &err))),
        }
        // At most one probe per run: an identical re-send right after a lost answer, while
        // the first attempt is well inside the platform's duplicate window.
        let mut probed = false;
        loop {
            let sent_at = Utc::now();
            let failure = match self.send(step, prior, &text, doubt).await {
                Attempt::Done(done) => return Ok(done),
                Attempt::Ended(ended) => return Err(ended),
                Attempt::Unknown(failure) => failure,
            };
            tracing::warn!(%failure, step = key, "publish outcome unknown; looking it up");
            let first_sent = doubt.first_sent().map_or(sent_at, |t| t.min(sent_at));
            match self.settle(step, sent_at, first_sent, &text).await? {
                Settled::Posted(done) => return Ok(done),
                Settled::Send(after @ Prior::Probe { .. }) if !probed => {
                    probed = true;
                    doubt = after;
                    self.begin_again(step, doubt).await?;
                }
                // Not found: the next attempt sends it (after the retry wait).
                Settled::Send(_) => {
                    return Err(Ended::Failed(PlatformFailure {
                        class: ErrorClass::Retryable,
                        ..failure
                    }));
                }
            }
        }
    }

    /// The first comment, once the post is up: gated and journaled like a publish, and sent
    /// at most once. Whatever becomes of it, the post stays published: a refusal, a rate
    /// window that stays full longer than [`COMMENT_WAIT`] or a lost answer is kept in the
    /// step's journal row (the error, its code and hint) and named on the delivery as
    /// degraded (`first_comment_failed`, `first_comment_unknown`). A comment whose answer
    /// was lost is never sent again: the platforms offer no lookup of an account's comments
    /// that Herald relies on, and a second comment is worse than a missing one.
    ///
    /// A window that frees within [`COMMENT_WAIT`] (Telegram's one message a second per
    /// chat, right after the post) is waited for in place, once, with the row `failed`
    /// meanwhile (nothing sent), so a worker stopped during the wait leaves nothing in doubt.
    async fn comment_step(
        &mut self,
        step: &Step,
        prior: &PriorResults,
    ) -> Result<Option<DegradedKind>, Ended> {
        let journal = &self.ctx.writer;
        let platform = step.platform;
        let key = step.key.as_str();
        let endpoint = format!("{platform}:{key}");
        let mut waited = false;
        let request_id = loop {
            match journal.begin(self.delivery_id, key, None).await {
                Ok(StepStart::AlreadyDone(_)) => return Ok(None),
                // Sent by an earlier attempt that never heard back: never sent again.
                Ok(StepStart::OutcomeUnknown(_)) => {
                    return Ok(Some(DegradedKind::FirstCommentUnknown));
                }
                Ok(StepStart::Started(_)) => {}
                // Nothing is sent without its journal row; the next attempt tries again.
                Err(err) => return Err(Ended::Failed(store_failure(platform, &err))),
            }
            let failure = match self.admit(&endpoint).await {
                Ok(Admission::Go { request_id }) => break request_id,
                Ok(Admission::Wait { until, gate }) => {
                    let wait = (until - Utc::now()).to_std().unwrap_or_default();
                    if !waited && wait <= COMMENT_WAIT {
                        waited = true;
                        let detail = json!({"gate": gate.as_str(), "waiting_until": until});
                        self.mark_failed(key, Some(&detail)).await;
                        tokio::select! {
                            () = tokio::time::sleep(wait) => {}
                            () = self.ctx.stopping.cancelled() => return Err(Ended::Checkpoint),
                        }
                        if self.lease.is_lost() {
                            return Err(Ended::LeaseLost);
                        }
                        continue;
                    }
                    PlatformFailure::new(
                        ErrorClass::RateLimited,
                        platform,
                        format!(
                            "the {gate} rate window is full until {}: the first comment was not sent",
                            until.to_rfc3339()
                        ),
                    )
                    .with_hint("The post is published; add the comment by hand, or leave first_comment out where the window is tight")
                }
                Err(failure) => failure,
            };
            return Ok(Some(self.comment_failed(key, failure).await));
        };
        match self.call_recorded(step, prior, request_id).await {
            Ok(outcome) => {
                let detail = json!({"url": outcome.url});
                self.mark_done(key, Some(&outcome.remote_id), Some(&detail))
                    .await;
                Ok(None)
            }
            Err(failure) if failure.class == ErrorClass::UnknownOutcome => {
                // The row stays `sending`: whether it landed is unknown for good.
                tracing::warn!(%failure, delivery = %self.delivery_id, "the first comment's answer was lost; it is not sent again");
                Ok(Some(DegradedKind::FirstCommentUnknown))
            }
            Err(failure) => Ok(Some(self.comment_failed(key, failure).await)),
        }
    }

    /// Records why the first comment was not published (its row `failed`, with the error,
    /// code and hint) and says so.
    async fn comment_failed(&self, key: &str, failure: PlatformFailure) -> DegradedKind {
        tracing::warn!(%failure, delivery = %self.delivery_id, "the first comment was not published");
        let detail = json!({
            "error": failure.to_string(),
            "class": failure.class,
            "code": failure.code(),
            "hint": failure.hint,
        });
        self.mark_failed(key, Some(&detail)).await;
        DegradedKind::FirstCommentFailed
    }

    /// Starts a step again that was just settled as "send again".
    async fn begin_again(&self, step: &Step, doubt: Prior) -> Result<(), Ended> {
        let platform = step.platform;
        let marker = doubt.mark(json!({}));
        match self
            .ctx
            .writer
            .begin(self.delivery_id, step.key.as_str(), Some(&marker))
            .await
        {
            Ok(StepStart::Started(_)) => Ok(()),
            // Another attempt got there first.
            Ok(StepStart::AlreadyDone(_) | StepStart::OutcomeUnknown(_)) => {
                Err(Ended::Failed(concurrent(platform)))
            }
            Err(err) => Err(Ended::Failed(store_failure(platform, &err))),
        }
    }

    /// One gated send of a `sending` step, recording what the platform said. A duplicate
    /// refusal of a step in doubt means the earlier attempt landed.
    async fn send(
        &mut self,
        step: &Step,
        prior: &PriorResults,
        text: &str,
        doubt: Prior,
    ) -> Attempt {
        let platform = step.platform;
        let key = step.key.as_str();
        // The step is `sending` from here: every way out records its outcome, keeping the
        // doubt markers so a later attempt still reads a duplicate refusal right.
        let endpoint = format!("{platform}:{key}");
        match self.admit(&endpoint).await {
            Ok(Admission::Go { request_id }) => {
                match self.call_recorded(step, prior, request_id).await {
                    Ok(outcome) => {
                        let detail = doubt.mark(json!({"url": outcome.url}));
                        self.mark_done(key, Some(&outcome.remote_id), Some(&detail))
                            .await;
                        Attempt::Done(Done::from_outcome(outcome))
                    }
                    Err(failure) if failure.class == ErrorClass::UnknownOutcome => {
                        Attempt::Unknown(failure)
                    }
                    Err(failure) => match DuplicateRefusal::of(&failure) {
                        Some(refusal) if doubt.in_doubt() => {
                            self.duplicate_after_doubt(step, text, refusal, doubt, failure)
                                .await
                        }
                        _ => {
                            let detail = doubt.mark(json!({"error": failure.to_string()}));
                            self.mark_failed(key, Some(&detail)).await;
                            Attempt::Ended(Ended::Failed(failure))
                        }
                    },
                }
            }
            Ok(Admission::Wait { until, gate }) => {
                self.mark_failed(key, Some(&doubt.mark(json!({"gate": gate.as_str()}))))
                    .await;
                Attempt::Ended(Ended::Wait { until, gate })
            }
            Err(failure) => {
                self.mark_failed(key, Some(&doubt.mark(json!({})))).await;
                Attempt::Ended(Ended::Failed(failure))
            }
        }
    }

    /// The platform refused an attempt after one of unknown outcome as a duplicate: the
    /// first one landed. Published with the id the refusal names (read back) or a lookup
    /// finds; else published without an id, and the journal says so.
    async fn duplicate_after_doubt(
        &self,
        step: &Step,
        text: &str,
        refusal: DuplicateRefusal,
        doubt: Prior,
        failure: PlatformFailure,
    ) -> Attempt {
        let key = step.key.as_str();
        // The original was made by the attempt of unknown outcome.
        let first_sent = doubt.first_sent().unwrap_or_else(Utc::now);
        let since = first_sent - TimeDelta::seconds(30);
        let original = match self
            .ctx
            .platforms
            .duplicate_of(&self.account(), &refusal, text, since)
            .await
        {
            Ok(original) => original,
            // The step stays `sending`: the next attempt settles it again (by lookup or by
            // the same probe), never by a blind send.
            Err(lookup) => {
                return Attempt::Ended(Ended::Failed(PlatformFailure {
                    class: if lookup.class == ErrorClass::RateLimited {
                        ErrorClass::RateLimited
                    } else {
                        ErrorClass::Retryable
                    },
                    message: format!(
                        "the platform refused the post as a duplicate of an attempt of unknown outcome, and identifying the original failed: {}",
                        lookup.message
                    ),
                    ..lookup
                }));
            }
        };
        match doubt::after_duplicate(original) {
            Next::Posted {
                remote_id,
                url,
                by,
                note,
            } => {
                tracing::info!(step = key, remote_id = ?remote_id, resolved_by = by.as_str(), "a duplicate refusal after doubt: the earlier attempt landed");
                let detail = doubt.mark(json!({
                    "url": url,
                    "resolved_by": by.as_str(),
                    "refusal": failure.message,
                    "note": note,
                }));
                self.mark_done(key, remote_id.as_deref(), Some(&detail))
                    .await;
                let degraded = if remote_id.is_none() {
                    vec![herald_platforms::Degraded {
                        kind: DegradedKind::RemoteIdUnknown,
                        cause: failure,
                    }]
                } else {
                    Vec::new()
                };
                Attempt::Done(Done {
                    remote_id: remote_id.unwrap_or_default(),
                    url,
                    degraded,
                })
            }
            Next::Refused { reason } => {
                let detail = doubt.mark(json!({"error": failure.to_string(), "note": reason}));
                self.mark_failed(key, Some(&detail)).await;
                Attempt::Ended(Ended::Failed(PlatformFailure {
                    message: format!("{}: {reason}", failure.message),
                    ..failure
                }))
            }
            // A duplicate refusal never asks for another lookup or the policy.
            Next::Send { .. } | Next::LookAgain { .. } | Next::Policy => {
                let detail = doubt.mark(json!({"error": failure.to_string()}));
                self.mark_failed(key, Some(&detail)).await;
                Attempt::Ended(Ended::Failed(failure))
            }
        }
    }

    /// Settles a possibly-sent step by lookup (sent at `sent_at`; `first_sent` is the first
    /// attempt's time, for a probe). `Posted`: it was (now `done`). `Send`: send it again
    /// (now `failed`, in doubt). `Err`: look again later (the step stays `sending`), or the
    /// policy says stop here.
    async fn settle(
        &mut self,
        step: &Step,
        sent_at: DateTime<Utc>,
        first_sent: DateTime<Utc>,
        text: &str,
    ) -> Result<Settled, Ended> {
        let key = step.key.as_str();
        let since = sent_at.min(first_sent) - TimeDelta::seconds(30);
        let lookup = match self
            .ctx
            .platforms
            .lookup(&self.account(), text, since)
            .await
        {
            Ok(lookup) => lookup,
            // The lookup itself failed (a timeout, a 5xx): the step stays `sending` and the
            // next attempt looks again.
            Err(failure) => {
                return Err(Ended::Failed(PlatformFailure {
                    class: if failure.class == ErrorClass::RateLimited {
                        ErrorClass::RateLimited
                    } else {
                        ErrorClass::Retryable
                    },
                    message: format!(
                        "looking up a publish of unknown outcome failed: {}",
                        failure.message
                    ),
                    ..failure
                }));
            }
        };
        let probe = self.may_probe(step, first_sent);
        match doubt::after_lookup(lookup, probe) {
            Next::Posted { remote_id, url, by, .. } => {
                let remote_id = remote_id.unwrap_or_default();
                tracing::info!(step = key, %remote_id, "the lost publish was found on the platform");
                let detail = json!({"url": url, "resolved_by": by.as_str()});
                self.mark_done(key, Some(&remote_id), Some(&detail)).await;
                Ok(Settled::Posted(Done {
                    remote_id,
                    url,
                    degraded: Vec::new(),
                }))
            }
            Next::Send {
                by: ResolvedBy::DuplicateProbe,
            } => {
                tracing::info!(step = key, "the platform cannot be searched; an identical re-send probes the lost publish");
                let after = Prior::Probe { first_sent };
                let detail = after.mark(json!({"resolved_by": ResolvedBy::DuplicateProbe.as_str()}));
                self.mark_failed(key, Some(&detail)).await;
                Ok(Settled::Send(after))
            }
            Next::Send { by } => {
                let after = Prior::Doubt { first_sent };
                let detail = after.mark(json!({"resolved_by": by.as_str(), "found": false}));
                self.mark_failed(key, Some(&detail)).await;
                Ok(Settled::Send(after))
            }
            // Stays `sending`: looked up again at the next attempt (or by the sweeper).
            Next::LookAgain { reason } => Err(Ended::Failed(
                PlatformFailure::new(
                    ErrorClass::Retryable,
                    step.platform,
                    format!("the publish's outcome is unknown and the lookup was inconclusive: {reason}"),
                )
                .with_herald_code(Code::LookupInconclusive)
                .with_hint("Nothing to do: Herald looks again at the next attempt and never posts it twice"),
            )),
            Next::Policy | Next::Refused { .. } => self
                .cannot_know(step, first_sent)
                .await
                .map(Settled::Send),
        }
    }

    /// The platform cannot tell whether a step in doubt was posted: the tenant's policy
    /// decides (`republish`: send again, in doubt; `unknown`: stop for an operator).
    async fn cannot_know(&self, step: &Step, first_sent: DateTime<Utc>) -> Result<Prior, Ended> {
        match self.policy().await {
            UnknownOutcomePolicy::Republish => {
                let after = Prior::Doubt { first_sent };
                let detail = after.mark(json!({"resolved_by": ResolvedBy::PolicyRepublish.as_str()}));
                self.mark_failed(step.key.as_str(), Some(&detail)).await;
                Ok(after)
            }
            UnknownOutcomePolicy::Unknown => Err(Ended::Unknown(
                PlatformFailure::new(
                    ErrorClass::UnknownOutcome,
                    step.platform,
                    "the platform's answer to the publish was lost and it offers no way to look the post up",
                )
                .with_herald_code(Code::OutcomeUnknown)
                .with_hint("Check the channel: resolve the delivery as published if the post is there, or retry it if not"),
            )),
        }
    }

    /// Whether an identical re-send may probe a step first sent at `first_sent`.
    fn may_probe(&self, step: &Step, first_sent: DateTime<Utc>) -> bool {
        // Media ride on the first part only.
        let text_only = matches!(step.action, StepAction::PublishPart { .. })
            || (self.media.is_empty() && self.content.media.is_empty());
        doubt::may_probe(
            step.platform,
            text_only,
            first_sent,
            Utc::now(),
            self.ctx.settings.duplicate_probe_window,
        )
    }

    /// Asks the gates (rate windows, outbound policy) whether a call to `endpoint` may go now
    /// on this delivery's account.
    async fn admit(&self, endpoint: &str) -> Result<Admission, PlatformFailure> {
        gates::admit(
            self.ctx,
            self.delivery_id,
            &self.conn.connection,
            &self.account(),
            endpoint,
        )
        .await
    }

    /// [`Self::call`], then the HTTP status the gate's slot (`request_id`) got recorded on it:
    /// 599 (no answer) when none came.
    async fn call_recorded(
        &mut self,
        step: &Step,
        prior: &PriorResults,
        request_id: Option<i64>,
    ) -> Result<StepOutcome, PlatformFailure> {
        let result = self.call(step, prior).await;
        if let Some(id) = request_id {
            let status = match &result {
                Ok(_) => 200,
                Err(f) => f.status.unwrap_or(599),
            };
            let _ = self.ctx.store.windows().record_status(id, status).await;
        }
        result
    }

    /// One platform call; a 401 that a refresh may cure gets one forced refresh and one more
    /// try.
    async fn call(
        &mut self,
        step: &Step,
        prior: &PriorResults,
    ) -> Result<StepOutcome, PlatformFailure> {
        let mut refreshed = false;
        loop {
            let account = self.account();
            let ctx = StepContext {
                account: &account,
                content: self.content,
                media: self.media,
                prior,
                options: PublishOptions::default(),
            };
            let result = self.ctx.platforms.execute(step, &ctx).await;
            match &result {
                Ok(outcome) => gates::observe(self.ctx, &account, &outcome.rate).await,
                Err(failure) if failure.class == ErrorClass::RateLimited => {
                    if let Some(until) = failure.retry_at {
                        gates::block(self.ctx, &account, until).await;
                    }
                }
                Err(failure) if !refreshed && refresh_may_help(failure) => {
                    refreshed = true;
                    let refused = account.access_token.clone();
                    self.conn =
                        tokens::refresh(self.ctx, &self.conn, Need::Rejected(refused)).await?;
                    continue;
                }
                Err(_) => {}
            }
            return result;
        }
    }

    /// The tenant's unknown-outcome policy, or the deployment's (asked only when needed).
    async fn policy(&self) -> UnknownOutcomePolicy {
        let stored = self
            .ctx
            .store
            .tenants()
            .unknown_outcome_policy(self.tenant_id)
            .await;
        match stored {
            Ok(Some(policy)) => policy,
            // None stored (or a name this version does not know): the deployment's.
            Ok(None) => self.ctx.settings.unknown_outcome,
            // Unsure: the policy that never posts twice.
            Err(_) => UnknownOutcomePolicy::Unknown,
        }
    }

    fn account(&self) -> Account {
        tokens::account_of(&self.conn)
    }
}

/// How one send of a publishing step ended.
enum Attempt {
    Done(Done),
    /// The answer was lost: settle by lookup.
    Unknown(PlatformFailure),
    Ended(Ended),
}

/// How a lookup settled a step of unknown outcome.
enum Settled {
    Posted(Done),
    /// Send it again, with this doubt.
    Send(Prior),
}

/// What a finished step left for the steps after it.
struct Done {
    remote_id: String,
    url: Option<String>,
    degraded: Vec<herald_platforms::Degraded>,
}

impl Done {
    fn from_outcome(outcome: StepOutcome) -> Self {
        Self {
            remote_id: outcome.remote_id,
            url: outcome.url,
            degraded: outcome.degraded,
        }
    }

    fn from_row(row: &JournalStep) -> Self {
        Self {
            remote_id: row.remote_id.clone().unwrap_or_default(),
            url: url_of(row),
            degraded: Vec::new(),
        }
    }
}

fn url_of(row: &JournalStep) -> Option<String> {
    row.detail
        .as_ref()
        .and_then(|d| d.get("url"))
        .and_then(|u| u.as_str())
        .map(str::to_owned)
}

/// The text a publishing step posts: the first part for `publish`, part N for `part:N`.
fn part_text(content: &PostContent, step: &Step) -> String {
    let index = match step.action {
        StepAction::PublishPart { part } => part,
        _ => 0,
    };
    content.parts().nth(index).unwrap_or_default().to_owned()
}

fn concurrent(platform: herald_domain::Platform) -> PlatformFailure {
    PlatformFailure::new(
        ErrorClass::Retryable,
        platform,
        "another attempt is resolving this publish",
    )
    .with_herald_code(Code::ConcurrentAttempt)
}
