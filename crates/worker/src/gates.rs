//! The rate gates a publishing request passes before it leaves (DESIGN.md section 5).
//!
//! Every request that makes a post visible (a publish, a thread part) asks, in order:
//!
//! 1. **Blocked-until** (Redis): has the platform told *any* worker to stop for this account
//!    or app (a 429's reset, Graph throttling codes, Telegram's `retry_after`, a rate header
//!    at zero)? The platform's word outranks every estimate.
//! 2. **GCRA** (Redis, one atomic script per key): the short fleet-wide windows: X posts per
//!    15 minutes per account, Telegram messages per second per chat and per bot.
//! 3. **The hard window** (Postgres): X's per-account rolling window with the limit of the
//!    connection's tier, Instagram's publishing quota, Threads' 250 per 24 h. A slot is
//!    reserved under an advisory lock before the request goes out and is never given back
//!    (a failed request counts on the platform's side too), so no number of concurrent
//!    workers can overshoot. The window is widened by a small margin so requests that were
//!    reserved at one instant and arrive a little later still fit the platform's count.
//! 4. **Politeness** (governor, in process): smooths bursts to one account from this process;
//!    a short async wait, never a reschedule.
//!
//! A closed gate answers *when* it opens. The delivery then becomes `rate_limited` with that
//! `run_at`, gives back its attempt, and is pushed to Redis for that time: it holds no worker
//! while it waits. If Redis cannot be asked, the gate stays closed for a few seconds rather
//! than guess.

use std::num::NonZeroU32;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use governor::{DefaultKeyedRateLimiter, Quota};
use herald_domain::{Platform, PlatformFailure};
use herald_platforms::{Account, RateObservation};
use herald_queue::{Gcra, GcraDecision};
use herald_store::{Connection, Reservation, ReserveRequest};

use crate::context::Ctx;
use crate::tokens::store_failure;

/// What the gates answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Send it. `request_id` is the Postgres window slot, when one was reserved.
    Go { request_id: Option<i64> },
    /// Not before `until`; `gate` names which gate said so.
    Wait {
        until: DateTime<Utc>,
        gate: &'static str,
    },
}

/// Per-process smoothing of requests to one account.
#[derive(Debug)]
pub(crate) struct Politeness {
    limiter: Option<DefaultKeyedRateLimiter<String>>,
}

impl Politeness {
    pub(crate) fn new(per_second: u32) -> Self {
        Self {
            limiter: NonZeroU32::new(per_second)
                .map(|n| DefaultKeyedRateLimiter::keyed(Quota::per_second(n))),
        }
    }

    async fn wait(&self, key: &str) {
        if let Some(limiter) = &self.limiter {
            limiter.until_key_ready(&key.to_owned()).await;
        }
    }
}

/// The account a limit is kept for: the page for page targets, else the account.
pub(crate) fn account_scope(account: &Account) -> String {
    format!(
        "account:{}",
        account.page_id.as_deref().unwrap_or(&account.account_id)
    )
}

/// The app a limit is kept for: Telegram's bot (its token's numeric id), LinkedIn's app
/// type, else the platform's one app.
pub(crate) fn app_scope(account: &Account) -> String {
    use secrecy::ExposeSecret;
    match account.platform {
        Platform::Telegram => {
            let token = account.access_token.expose_secret();
            format!("bot:{}", token.split(':').next().unwrap_or_default())
        }
        Platform::Linkedin => format!(
            "app:{}",
            account
                .app_type
                .map_or("personal", herald_domain::AppType::as_str)
        ),
        _ => "app".to_owned(),
    }
}

/// Passes a publishing request for `connection` through every gate.
pub(crate) async fn admit(
    ctx: &Ctx,
    delivery_id: herald_domain::DeliveryId,
    connection: &Connection,
    account: &Account,
    endpoint: &str,
) -> Result<Admission, PlatformFailure> {
    let platform = account.platform;
    let account_key = account_scope(account);
    let app_key = app_scope(account);
    let redis_down = |err: herald_queue::QueueError| {
        tracing::warn!(error = %err, "Redis did not answer the rate gates; waiting");
        Admission::Wait {
            until: Utc::now() + TimeDelta::seconds(5),
            gate: "redis_unavailable",
        }
    };

    match ctx
        .limiter
        .blocked_until(platform, &[&account_key, &app_key])
        .await
    {
        Ok(Some(until)) => {
            return Ok(Admission::Wait {
                until,
                gate: "blocked_until",
            });
        }
        Ok(None) => {}
        Err(err) => return Ok(redis_down(err)),
    }

    for limit in short_windows(ctx, platform, &account_key, &app_key) {
        match ctx.limiter.acquire(&limit).await {
            Ok(GcraDecision::Allowed) => {}
            Ok(GcraDecision::Denied { retry_at }) => {
                return Ok(Admission::Wait {
                    until: retry_at,
                    gate: "gcra",
                });
            }
            Err(err) => return Ok(redis_down(err)),
        }
    }

    let mut request_id = None;
    if let Some((bucket, limit, window)) = hard_window(ctx, connection) {
        let reservation = ctx
            .store
            .windows()
            .reserve(&ReserveRequest {
                connection_id: connection.id,
                bucket,
                endpoint,
                delivery_id: Some(delivery_id),
                limit: i64::from(limit),
                window: with_margin(window),
            })
            .await
            .map_err(|e| store_failure(platform, &e))?;
        match reservation {
            Reservation::Reserved { request_id: id } => request_id = Some(id),
            Reservation::Full { frees_at } => {
                return Ok(Admission::Wait {
                    until: frees_at,
                    gate: "window",
                });
            }
        }
    }

    ctx.politeness
        .wait(&format!("{platform}:{account_key}"))
        .await;
    Ok(Admission::Go { request_id })
}

/// Records what a platform's answer said about the budget: a window at zero or throttling
/// blocks the account for every worker until it resets.
pub(crate) async fn observe(ctx: &Ctx, account: &Account, rate: &RateObservation) {
    if let Some(until) = rate.back_off_until(Utc::now()) {
        block(ctx, account, until).await;
    }
}

/// A platform said "stop until `until`" for this account.
pub(crate) async fn block(ctx: &Ctx, account: &Account, until: DateTime<Utc>) {
    let scope = account_scope(account);
    if let Err(err) = ctx.limiter.block(account.platform, &scope, until).await {
        tracing::warn!(error = %err, "could not record a platform's rate block in Redis");
    }
}

fn short_windows<'a>(
    ctx: &Ctx,
    platform: Platform,
    account_key: &'a str,
    app_key: &'a str,
) -> Vec<Gcra<'a>> {
    let limits = &ctx.settings.limits;
    match platform {
        Platform::Twitter => vec![Gcra {
            platform,
            scope: account_key,
            limit: limits.x_posts_per_15min,
            period: Duration::from_secs(15 * 60),
        }],
        Platform::Telegram => vec![
            Gcra {
                platform,
                scope: account_key,
                limit: limits.telegram_per_chat_per_second,
                period: Duration::from_secs(1),
            },
            Gcra {
                platform,
                scope: app_key,
                limit: limits.telegram_per_bot_per_second,
                period: Duration::from_secs(1),
            },
        ],
        _ => Vec::new(),
    }
}

/// The Postgres window a publishing request of this connection counts toward.
fn hard_window(ctx: &Ctx, connection: &Connection) -> Option<(&'static str, u32, Duration)> {
    let limits = &ctx.settings.limits;
    match connection.platform {
        Platform::Twitter => {
            let tier = connection
                .rate_tier
                .as_deref()
                .unwrap_or(&limits.x_default_tier);
            let limit = limits
                .x_tiers
                .get(tier)
                .or_else(|| limits.x_tiers.get(&limits.x_default_tier))
                .copied()?;
            Some(("posts", limit, limits.x_window))
        }
        Platform::Instagram => limits
            .instagram_quota
            .map(|(limit, window)| ("publish_quota", limit, window)),
        Platform::Threads => Some(("posts", limits.threads_quota.0, limits.threads_quota.1)),
        _ => None,
    }
}

/// The window as counted here: a little longer than the platform's, so a request reserved
/// at one instant and arriving a few hundred milliseconds later still fits its count.
fn with_margin(window: Duration) -> Duration {
    window + window / 1000 + Duration::from_millis(500)
}
