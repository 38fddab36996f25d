//! The rate gates a publishing request passes before it leaves (docs/rate-limits.md).
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
//!
//! What each gate's answer means (`blocked_until`, `short_window`, `window`) and which limits
//! apply to a connection (`short_windows`, `hard_window`) are pure functions, so they are
//! tested without Redis or Postgres; `admit` only asks and follows them.

use std::num::NonZeroU32;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use governor::{DefaultKeyedRateLimiter, Quota};
use herald_domain::{Platform, PlatformFailure};
use herald_platforms::{Account, RateObservation};
use herald_queue::{Gcra, GcraDecision, QueueError};
use herald_store::{Connection, Reservation, ReserveRequest};

use crate::context::Ctx;
use crate::settings::LimitSettings;
use crate::tokens::store_failure;

/// How long the gates stay closed when Redis cannot be asked.
const REDIS_DOWN_WAIT: TimeDelta = TimeDelta::seconds(5);

/// Which gate closed: recorded on the delivery (its error code and event detail) and as the
/// `gate` label of `herald_rate_limit_waits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gate {
    /// The platform said stop (a 429's reset, throttling codes, a rate header at zero).
    BlockedUntil,
    /// A short fleet-wide window (Redis GCRA).
    Gcra,
    /// The hard window in Postgres.
    Window,
    /// Redis did not answer, so no Redis gate could say yes.
    RedisUnavailable,
}

impl Gate {
    pub const fn as_str(self) -> &'static str {
        match self {
            Gate::BlockedUntil => "blocked_until",
            Gate::Gcra => "gcra",
            Gate::Window => "window",
            Gate::RedisUnavailable => "redis_unavailable",
        }
    }
}

impl std::fmt::Display for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the gates answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Send it. `request_id` is the Postgres window slot, when one was reserved.
    Go { request_id: Option<i64> },
    /// Not before `until`; `gate` names which gate said so.
    Wait { until: DateTime<Utc>, gate: Gate },
}

/// The blocked-until gate's answer: `Some` closes the gate.
pub(crate) fn blocked_until(
    answer: Result<Option<DateTime<Utc>>, QueueError>,
    now: DateTime<Utc>,
) -> Option<Admission> {
    match answer {
        Ok(Some(until)) => Some(Admission::Wait {
            until,
            gate: Gate::BlockedUntil,
        }),
        Ok(None) => None,
        Err(err) => Some(redis_down(&err, now)),
    }
}

/// One short window's answer: `Some` closes the gate.
pub(crate) fn short_window(
    answer: Result<GcraDecision, QueueError>,
    now: DateTime<Utc>,
) -> Option<Admission> {
    match answer {
        Ok(GcraDecision::Allowed) => None,
        Ok(GcraDecision::Denied { retry_at }) => Some(Admission::Wait {
            until: retry_at,
            gate: Gate::Gcra,
        }),
        Err(err) => Some(redis_down(&err, now)),
    }
}

/// The hard window's answer: the reserved slot, or the wait until one frees.
pub(crate) fn window(reservation: Reservation) -> Result<i64, Admission> {
    match reservation {
        Reservation::Reserved { request_id } => Ok(request_id),
        Reservation::Full { frees_at } => Err(Admission::Wait {
            until: frees_at,
            gate: Gate::Window,
        }),
    }
}

/// Redis could not be asked: closed for a few seconds rather than a guess.
fn redis_down(err: &QueueError, now: DateTime<Utc>) -> Admission {
    tracing::warn!(error = %err, "Redis did not answer the rate gates; waiting");
    Admission::Wait {
        until: now + REDIS_DOWN_WAIT,
        gate: Gate::RedisUnavailable,
    }
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
    let limits = &ctx.settings.limits;

    let answer = ctx
        .limiter
        .blocked_until(platform, &[&account_key, &app_key])
        .await;
    if let Some(wait) = blocked_until(answer, Utc::now()) {
        return Ok(wait);
    }

    for limit in short_windows(limits, platform, &account_key, &app_key) {
        let answer = ctx.limiter.acquire(&limit).await;
        if let Some(wait) = short_window(answer, Utc::now()) {
            return Ok(wait);
        }
    }

    let mut request_id = None;
    if let Some((bucket, limit, span)) =
        hard_window(limits, platform, connection.rate_tier.as_deref())
    {
        let reservation = ctx
            .store
            .windows()
            .reserve(&ReserveRequest {
                connection_id: connection.id,
                bucket,
                endpoint,
                delivery_id: Some(delivery_id),
                limit: i64::from(limit),
                window: with_margin(span),
            })
            .await
            .map_err(|e| store_failure(platform, &e))?;
        match window(reservation) {
            Ok(id) => request_id = Some(id),
            Err(wait) => return Ok(wait),
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

/// The short fleet-wide windows a publishing request of `platform` passes.
pub(crate) fn short_windows<'a>(
    limits: &LimitSettings,
    platform: Platform,
    account_key: &'a str,
    app_key: &'a str,
) -> Vec<Gcra<'a>> {
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

/// The Postgres window (bucket, limit, span) a publishing request of a `platform` connection
/// on `rate_tier` (X's API tier) counts toward.
pub(crate) fn hard_window(
    limits: &LimitSettings,
    platform: Platform,
    rate_tier: Option<&str>,
) -> Option<(&'static str, u32, Duration)> {
    match platform {
        Platform::Twitter => {
            let tier = rate_tier.unwrap_or(&limits.x_default_tier);
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use herald_domain::AppType;
    use secrecy::SecretString;

    use super::*;

    fn limits() -> LimitSettings {
        LimitSettings {
            x_tiers: BTreeMap::from([("free".to_owned(), 17), ("basic".to_owned(), 100)]),
            x_default_tier: "free".to_owned(),
            x_window: Duration::from_secs(24 * 3600),
            x_posts_per_15min: 5,
            instagram_quota: None,
            threads_quota: (250, Duration::from_secs(24 * 3600)),
            telegram_per_chat_per_second: 1,
            telegram_per_bot_per_second: 30,
            per_account_per_second: 2,
        }
    }

    fn account(platform: Platform, token: &str) -> Account {
        Account {
            platform,
            app_type: None,
            target: herald_domain::PostTargetType::Personal,
            account_id: "acct".to_owned(),
            page_id: None,
            username: None,
            access_token: SecretString::from(token.to_owned()),
        }
    }

    fn redis_error() -> QueueError {
        QueueError::InvalidUrl("test".to_owned())
    }

    #[test]
    fn a_platform_block_closes_the_first_gate_until_it_ends() {
        let now = Utc::now();
        let until = now + TimeDelta::minutes(3);
        assert_eq!(
            blocked_until(Ok(Some(until)), now),
            Some(Admission::Wait {
                until,
                gate: Gate::BlockedUntil
            })
        );
        assert_eq!(blocked_until(Ok(None), now), None);
    }

    #[test]
    fn a_denied_short_window_waits_for_its_retry_instant() {
        let now = Utc::now();
        let retry_at = now + TimeDelta::seconds(40);
        assert_eq!(
            short_window(Ok(GcraDecision::Denied { retry_at }), now),
            Some(Admission::Wait {
                until: retry_at,
                gate: Gate::Gcra
            })
        );
        assert_eq!(short_window(Ok(GcraDecision::Allowed), now), None);
    }

    #[test]
    fn without_redis_both_redis_gates_stay_closed_for_a_few_seconds() {
        let now = Utc::now();
        let closed = Some(Admission::Wait {
            until: now + REDIS_DOWN_WAIT,
            gate: Gate::RedisUnavailable,
        });
        assert_eq!(blocked_until(Err(redis_error()), now), closed);
        assert_eq!(short_window(Err(redis_error()), now), closed);
    }

    #[test]
    fn a_full_hard_window_waits_until_a_slot_frees_and_a_free_one_is_reserved() {
        let frees_at = Utc::now() + TimeDelta::hours(2);
        assert_eq!(
            window(Reservation::Full { frees_at }),
            Err(Admission::Wait {
                until: frees_at,
                gate: Gate::Window
            })
        );
        assert_eq!(window(Reservation::Reserved { request_id: 7 }), Ok(7));
    }

    #[test]
    fn x_and_telegram_pass_short_windows_and_the_others_none() {
        let limits = limits();
        let x = short_windows(&limits, Platform::Twitter, "account:1", "app");
        assert_eq!(x.len(), 1);
        assert_eq!((x[0].scope, x[0].limit), ("account:1", 5));
        assert_eq!(x[0].period, Duration::from_secs(15 * 60));
        let telegram = short_windows(&limits, Platform::Telegram, "account:chat", "bot:42");
        let scopes: Vec<_> = telegram.iter().map(|g| (g.scope, g.limit)).collect();
        assert_eq!(scopes, vec![("account:chat", 1), ("bot:42", 30)]);
        for platform in [
            Platform::Linkedin,
            Platform::Facebook,
            Platform::Instagram,
            Platform::Threads,
        ] {
            assert!(
                short_windows(&limits, platform, "a", "b").is_empty(),
                "{platform}"
            );
        }
    }

    #[test]
    fn the_hard_window_follows_the_x_tier_and_the_platform_quotas() {
        let mut limits = limits();
        let day = Duration::from_secs(24 * 3600);
        assert_eq!(
            hard_window(&limits, Platform::Twitter, Some("basic")),
            Some(("posts", 100, day))
        );
        // No tier, or one the configuration does not know: the default tier's limit.
        assert_eq!(
            hard_window(&limits, Platform::Twitter, None),
            Some(("posts", 17, day))
        );
        assert_eq!(
            hard_window(&limits, Platform::Twitter, Some("enterprise")),
            Some(("posts", 17, day))
        );
        assert_eq!(
            hard_window(&limits, Platform::Threads, None),
            Some(("posts", 250, day))
        );
        assert_eq!(hard_window(&limits, Platform::Instagram, None), None);
        limits.instagram_quota = Some((25, day));
        assert_eq!(
            hard_window(&limits, Platform::Instagram, None),
            Some(("publish_quota", 25, day))
        );
        assert_eq!(hard_window(&limits, Platform::Telegram, None), None);
        assert_eq!(hard_window(&limits, Platform::Facebook, None), None);
    }

    #[test]
    fn the_counted_window_is_a_little_longer_than_the_platforms() {
        assert_eq!(
            with_margin(Duration::from_secs(1000)),
            Duration::from_millis(1_001_500)
        );
    }

    #[test]
    fn limits_are_kept_per_page_bot_and_linkedin_app() {
        let mut page = account(Platform::Facebook, "t");
        page.page_id = Some("page-9".to_owned());
        assert_eq!(account_scope(&page), "account:page-9");
        assert_eq!(
            account_scope(&account(Platform::Twitter, "t")),
            "account:acct"
        );
        assert_eq!(
            app_scope(&account(Platform::Telegram, "12345:secret")),
            "bot:12345"
        );
        let mut company = account(Platform::Linkedin, "t");
        company.app_type = Some(AppType::Company);
        assert_eq!(app_scope(&company), "app:company");
        assert_eq!(app_scope(&account(Platform::Linkedin, "t")), "app:personal");
        assert_eq!(app_scope(&account(Platform::Threads, "t")), "app");
    }
}
