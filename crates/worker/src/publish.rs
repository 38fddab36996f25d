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
//! Found: the step is `done` with the id found. Not found: the step is `failed` and the next
//! attempt sends it. The platform cannot tell (Telegram): the tenant's policy decides:
//! `unknown` (the default; an operator resolves it, nothing is posted twice) or `republish`.
//!
//! **Rate gates** are asked before every publishing request (each thread part counts), so a
//! thread that meets a full window stops between parts and resumes after it.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::{
    Code, DeliveryId, ErrorClass, PlatformFailure, PostContent, StepState, UnknownOutcomePolicy,
};
use herald_platforms::{
    Account, Lookup, MediaInput, PriorResults, PublishOptions, Step, StepAction, StepContext,
    StepOutcome, refresh_may_help,
};
use herald_store::{ConnectionWithTokens, Outcome, Step as JournalStep, StepStart};
use serde_json::json;

use crate::claim::Lease;
use crate::context::Ctx;
use crate::gates::{self, Admission, Gate};
use crate::tokens::{self, Need, store_failure};

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
            .store
            .journal()
            .complete(self.delivery_id, key, remote_id, detail)
            .await;
        self.journaled(written, key);
    }

    /// Marks a `sending` step failed (it may be sent again); best effort, as [`Self::mark_done`].
    async fn mark_failed(&self, key: &str, detail: Option<&serde_json::Value>) {
        let written = self
            .ctx
            .store
            .journal()
            .fail(self.delivery_id, key, detail)
            .await;
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

        for step in plan {
            if let Some(row) = recorded.get(step.key.as_str())
                && row.state == StepState::Done
            {
                let remote_id = row.remote_id.clone().unwrap_or_default();
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
            let result = if step.publishes() {
                self.publishing_step(step, &prior).await
            } else {
                self.repeatable_step(step, &prior).await
            };
            match result {
                Ok(done) => {
                    if step.action == StepAction::Publish {
                        published = Some((done.remote_id.clone(), done.url.clone()));
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
            remote_id,
            public_url: public_url.flatten(),
            degraded,
        })
    }

    /// An upload, a container or a wait: journaled, and run again when its outcome is lost.
    async fn repeatable_step(&mut self, step: &Step, prior: &PriorResults) -> Result<Done, Ended> {
        let journal = self.ctx.store.journal();
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
    async fn publishing_step(&mut self, step: &Step, prior: &PriorResults) -> Result<Done, Ended> {
        let journal = self.ctx.store.journal();
        let platform = step.platform;
        let key = step.key.as_str();
        let text = part_text(self.content, step);
        match journal.begin(self.delivery_id, key, None).await {
            Ok(StepStart::AlreadyDone(row)) => return Ok(Done::from_row(&row)),
            Ok(StepStart::Started(_)) => {}
            Ok(StepStart::OutcomeUnknown(row)) => {
                // An earlier attempt sent it and never heard back.
                match self.resolve(step, &row.started_at, &text).await? {
                    Some(done) => return Ok(done),
                    None => match journal.begin(self.delivery_id, key, None).await {
                        Ok(StepStart::Started(_)) => {}
                        Ok(StepStart::AlreadyDone(row)) => return Ok(Done::from_row(&row)),
                        Ok(StepStart::OutcomeUnknown(_)) => {
                            return Err(Ended::Failed(concurrent(platform)));
                        }
                        Err(err) => return Err(Ended::Failed(store_failure(platform, &err))),
                    },
                }
            }
            Err(err) => return Err(Ended::Failed(store_failure(platform, &err))),
        }
        let sent_at = Utc::now();
        // The step is `sending` from here: every way out records its outcome.
        let endpoint = format!("{platform}:{key}");
        let admission = gates::admit(
            self.ctx,
            self.delivery_id,
            &self.conn.connection,
            &self.account(),
            &endpoint,
        )
        .await;
        match admission {
            Ok(Admission::Go { request_id }) => {
                let result = self.call(step, prior).await;
                if let Some(id) = request_id {
                    // The HTTP status the slot's request got; 599 (no answer) when none came.
                    let status = match &result {
                        Ok(_) => 200,
                        Err(f) => f.status.unwrap_or(599),
                    };
                    let _ = self.ctx.store.windows().record_status(id, status).await;
                }
                match result {
                    Ok(outcome) => {
                        let detail = json!({"url": outcome.url});
                        self.mark_done(key, Some(&outcome.remote_id), Some(&detail))
                            .await;
                        Ok(Done::from_outcome(outcome))
                    }
                    Err(failure) if failure.class == ErrorClass::UnknownOutcome => {
                        tracing::warn!(%failure, step = key, "publish outcome unknown; looking it up");
                        match self.resolve(step, &sent_at, &text).await? {
                            Some(done) => Ok(done),
                            None => Err(Ended::Failed(PlatformFailure {
                                class: ErrorClass::Retryable,
                                ..failure
                            })),
                        }
                    }
                    Err(failure) => {
                        self.mark_failed(key, Some(&json!({"error": failure.to_string()})))
                            .await;
                        Err(Ended::Failed(failure))
                    }
                }
            }
            Ok(Admission::Wait { until, gate }) => {
                self.mark_failed(key, Some(&json!({"gate": gate.as_str()})))
                    .await;
                Err(Ended::Wait { until, gate })
            }
            Err(failure) => {
                self.mark_failed(key, None).await;
                Err(Ended::Failed(failure))
            }
        }
    }

    /// Looks a possibly-sent step up. `Some`: it was posted (now `done`). `None`: it was not
    /// (now `failed`, so it may be sent again). `Err`: the policy says stop here.
    async fn resolve(
        &mut self,
        step: &Step,
        since: &DateTime<Utc>,
        text: &str,
    ) -> Result<Option<Done>, Ended> {
        let key = step.key.as_str();
        let since = *since - TimeDelta::seconds(30);
        match self.ctx.platforms.lookup(&self.account(), text, since).await {
            Ok(Lookup::Found { remote_id, url }) => {
                tracing::info!(step = key, %remote_id, "the lost publish was found on the platform");
                let detail = json!({"url": url, "resolved_by": "lookup"});
                self.mark_done(key, Some(&remote_id), Some(&detail)).await;
                Ok(Some(Done {
                    remote_id,
                    url,
                    degraded: Vec::new(),
                }))
            }
            Ok(Lookup::NotFound) => {
                self.mark_failed(key, Some(&json!({"resolved_by": "lookup", "found": false}))).await;
                Ok(None)
            }
            Ok(Lookup::CannotKnow) => match self.policy().await {
                UnknownOutcomePolicy::Republish => {
                    self.mark_failed(key, Some(&json!({"resolved_by": "policy_republish"}))).await;
                    Ok(None)
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
            },
            // The lookup itself failed (a timeout, a 5xx): the step stays `sending` and the
            // next attempt looks again.
            Err(failure) => Err(Ended::Failed(PlatformFailure {
                class: if failure.class == ErrorClass::RateLimited {
                    ErrorClass::RateLimited
                } else {
                    ErrorClass::Retryable
                },
                message: format!("looking up a publish of unknown outcome failed: {}", failure.message),
                ..failure
            })),
        }
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
        match stored.map(|policy| policy.map(|p| p.parse::<UnknownOutcomePolicy>())) {
            Ok(Some(Ok(policy))) => policy,
            // None stored, or a name this version does not know: the deployment's.
            Ok(None | Some(Err(_))) => self.ctx.settings.unknown_outcome,
            // Unsure: the policy that never posts twice.
            Err(_) => UnknownOutcomePolicy::Unknown,
        }
    }

    fn account(&self) -> Account {
        tokens::account_of(&self.conn)
    }
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
