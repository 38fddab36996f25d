//! `herald-platforms`: the only code that speaks to a social platform.
//!
//! One entry point, [`Platforms`], holds one HTTP client (one connection pool, one timeout
//! policy) and a client per platform. Callers (the worker and the API) pass credentials in and
//! get results out; nothing here touches the store.
//!
//! - **Connect**: [`Platforms::authorize_url`], [`Platforms::exchange_code`],
//!   [`Platforms::identity`], [`Platforms::targets`], and for Telegram (no OAuth)
//!   [`Platforms::connect_telegram`].
//! - **Tokens**: [`Platforms::refresh`]; every [`TokenSet`] carries expiry instants.
//! - **Publish** as resumable steps: [`Platforms::plan`] then [`Platforms::execute`] per
//!   [`Step`] (see `steps.rs` for the journal contract).
//! - **Lookup**: [`Platforms::lookup`] resolves an unknown outcome by a complete, bounded
//!   search of the account's recent posts; [`DuplicateRefusal`] and
//!   [`Platforms::duplicate_of`] identify the post a duplicate refusal points at.
//! - **Failures** are [`PlatformFailure`]s classified into the domain's [`ErrorClass`]es with
//!   the platform's code and a remediation hint ([`classify`], [`hints`]); every response's rate
//!   headers become a [`RateObservation`].
//!
//! # Dispatch
//!
//! The platforms are a closed set of six, so [`Platforms`] dispatches with a `match` on
//! [`Platform`] to concrete clients (static dispatch, no boxed futures, no `async-trait`): an
//! `async fn` in a trait would not be object safe, and a trait object would buy nothing a
//! seventh match arm does not. Each platform module exposes the same set of methods.
//!
//! # Secrets
//!
//! Tokens are [`secrecy::SecretString`]s end to end; spans are `#[instrument(skip_all)]` with
//! only the platform and step key as fields; transport errors are printed without their URL
//! (Graph and Threads tokens travel in query strings).

pub mod account;
pub mod classify;
mod facebook;
mod graph;
pub mod hints;
mod http;
mod instagram;
mod linkedin;
pub mod lookup;
pub mod oauth;
pub mod rate;
pub mod steps;
mod telegram;
mod threads;
mod twitter;

use chrono::{DateTime, Utc};
use herald_config::PlatformsConfig;
use herald_domain::{Code, ErrorClass, Platform, PlatformFailure, PostContent};
use secrecy::SecretString;
use tracing::instrument;

pub use account::{Account, ChatId, Identity, Target, TargetKind, TelegramChannel};
pub use classify::{Call, Operation, classify_callback_error, classify_response};
pub use http::HttpSettings;
pub use lookup::{DuplicateOf, DuplicateRefusal, Lookup, refuses_recent_duplicates};
pub use oauth::{AuthorizeRequest, AuthorizeUrl, CodeExchange, TokenSet};
pub use rate::{RateObservation, RateWindow};
pub use steps::{
    Degraded, DegradedKind, FallbackPolicy, MediaBody, MediaInput, PriorResults, PublishOptions,
    Step, StepAction, StepContext, StepKey, StepOutcome,
};

/// The HTTP client could not be built (a TLS backend problem at startup).
#[derive(Debug, thiserror::Error)]
#[error("could not build the HTTP client for platform calls: {0}")]
pub struct BuildError(#[source] reqwest::Error);

/// Every platform client behind one interface.
#[derive(Debug, Clone)]
pub struct Platforms {
    twitter: twitter::Twitter,
    linkedin: linkedin::Linkedin,
    facebook: facebook::Facebook,
    instagram: instagram::Instagram,
    threads: threads::Threads,
    telegram: telegram::Telegram,
}

impl Platforms {
    pub fn new(config: &PlatformsConfig, settings: &HttpSettings) -> Result<Self, BuildError> {
        let http = http::Http::new(settings).map_err(BuildError)?;
        Ok(Self {
            twitter: twitter::Twitter::new(http.clone(), &config.twitter, settings),
            linkedin: linkedin::Linkedin::new(http.clone(), &config.linkedin, settings),
            facebook: facebook::Facebook::new(http.clone(), &config.facebook, settings),
            instagram: instagram::Instagram::new(http.clone(), &config.instagram, settings),
            threads: threads::Threads::new(http.clone(), &config.threads, settings),
            telegram: telegram::Telegram::new(http, &config.telegram),
        })
    }

    /// The URL to send the user to, with a `state` (always) and, for X, a PKCE verifier to
    /// keep. LinkedIn uses the personal or company app according to `req.app_type`.
    #[instrument(skip_all, fields(platform = %req.platform))]
    pub fn authorize_url(&self, req: &AuthorizeRequest) -> Result<AuthorizeUrl, PlatformFailure> {
        match req.platform {
            Platform::Twitter => self.twitter.authorize_url(req),
            Platform::Linkedin => self.linkedin.authorize_url(req),
            Platform::Facebook => self.facebook.meta().authorize_url(req),
            Platform::Instagram => self.instagram.meta().authorize_url(req),
            Platform::Threads => self.threads.authorize_url(req),
            Platform::Telegram => Err(oauth::unsupported(
                req.platform,
                "OAuth (connect a bot token)",
            )),
        }
    }

    /// Exchanges the callback's code for tokens. Meta and Threads codes are exchanged straight
    /// on for long-lived tokens (about 60 days).
    #[instrument(skip_all, fields(platform = %exchange.platform))]
    pub async fn exchange_code(
        &self,
        exchange: &CodeExchange,
    ) -> Result<TokenSet, PlatformFailure> {
        match exchange.platform {
            Platform::Twitter => self.twitter.exchange(exchange).await,
            Platform::Linkedin => self.linkedin.exchange(exchange).await,
            Platform::Facebook => self.facebook.meta().exchange(exchange).await,
            Platform::Instagram => self.instagram.meta().exchange(exchange).await,
            Platform::Threads => self.threads.exchange(exchange).await,
            Platform::Telegram => Err(oauth::unsupported(exchange.platform, "OAuth")),
        }
    }

    /// Refreshes an account's access token: X with its (rotating) refresh token, Meta by
    /// long-lived exchange of the current token, Threads with `th_refresh_token`, LinkedIn only
    /// for partner apps (else [`ErrorClass::ReconnectRequired`]).
    #[instrument(skip_all, fields(platform = %account.platform))]
    pub async fn refresh(
        &self,
        account: &Account,
        refresh_token: Option<&SecretString>,
    ) -> Result<TokenSet, PlatformFailure> {
        let missing = || {
            PlatformFailure::new(
                ErrorClass::ReconnectRequired,
                account.platform,
                "no refresh token is stored for this connection",
            )
            .with_herald_code(Code::NoRefreshToken)
            .with_hint(hints::MISSING_SCOPES)
        };
        match account.platform {
            Platform::Twitter => {
                self.twitter
                    .refresh(refresh_token.ok_or_else(missing)?)
                    .await
            }
            Platform::Linkedin => self.linkedin.refresh(account, refresh_token).await,
            Platform::Facebook => self.facebook.meta().extend(&account.access_token).await,
            Platform::Instagram => self.instagram.meta().extend(&account.access_token).await,
            Platform::Threads => self.threads.refresh(&account.access_token).await,
            Platform::Telegram => Err(oauth::unsupported(account.platform, "token refresh")),
        }
    }

    /// Whose token this is (account id, name, handle).
    #[instrument(skip_all, fields(platform = %platform))]
    pub async fn identity(
        &self,
        platform: Platform,
        token: &SecretString,
    ) -> Result<Identity, PlatformFailure> {
        match platform {
            Platform::Twitter => self.twitter.identity(token).await,
            Platform::Linkedin => self.linkedin.identity(token).await,
            Platform::Facebook => self.facebook.meta().identity(token).await,
            Platform::Instagram => self.instagram.meta().identity(token).await,
            Platform::Threads => self.threads.identity(token).await,
            Platform::Telegram => Err(oauth::unsupported(
                platform,
                "identity (use connect_telegram)",
            )),
        }
    }

    /// Where a token can post: the profile, Facebook Pages with their tokens, Instagram
    /// business accounts linked to Pages, LinkedIn organizations the member administers
    /// (`app_type` company). An empty result is a failure with a hint ("no pages").
    #[instrument(skip_all, fields(platform = %platform))]
    pub async fn targets(
        &self,
        platform: Platform,
        app_type: Option<herald_domain::AppType>,
        token: &SecretString,
    ) -> Result<Vec<Target>, PlatformFailure> {
        match platform {
            Platform::Twitter => self.twitter.targets(token).await,
            Platform::Linkedin => self.linkedin.targets(app_type, token).await,
            Platform::Facebook => self.facebook.targets(token).await,
            Platform::Instagram => self.instagram.targets(token).await,
            Platform::Threads => self.threads.targets(token).await,
            Platform::Telegram => Err(oauth::unsupported(
                platform,
                "target discovery (use connect_telegram)",
            )),
        }
    }

    /// Telegram's connect: the bot token works (`getMe`), the chat exists (`getChat`) and the
    /// bot is an admin allowed to post there (`getChatMember`).
    #[instrument(skip_all, fields(platform = "telegram"))]
    pub async fn connect_telegram(
        &self,
        bot_token: &SecretString,
        chat: &ChatId,
    ) -> Result<TelegramChannel, PlatformFailure> {
        self.telegram.connect(bot_token, chat).await
    }

    /// The steps that publish `content` for `account`, in order.
    pub fn plan(
        &self,
        account: &Account,
        content: &PostContent,
    ) -> Result<Vec<Step>, PlatformFailure> {
        match account.platform {
            Platform::Twitter => self.twitter.plan(content),
            Platform::Linkedin => self.linkedin.plan(content),
            Platform::Facebook => self.facebook.plan(content),
            Platform::Instagram => self.instagram.plan(content),
            Platform::Threads => self.threads.plan(content),
            Platform::Telegram => self.telegram.plan(content),
        }
    }

    /// Runs one step. Journal it as `sending` first when [`Step::publishes`].
    #[instrument(skip_all, fields(platform = %step.platform, step = %step.key))]
    pub async fn execute(
        &self,
        step: &Step,
        ctx: &StepContext<'_>,
    ) -> Result<StepOutcome, PlatformFailure> {
        if step.platform != ctx.account.platform {
            return Err(PlatformFailure::new(
                ErrorClass::Permanent,
                ctx.account.platform,
                format!(
                    "a {} step cannot run on a {} account",
                    step.platform, ctx.account.platform
                ),
            )
            .with_herald_code(Code::StepPlatform));
        }
        let outcome = match step.platform {
            Platform::Twitter => self.twitter.execute(step, ctx).await,
            Platform::Linkedin => self.linkedin.execute(step, ctx).await,
            Platform::Facebook => self.facebook.execute(step, ctx).await,
            Platform::Instagram => self.instagram.execute(step, ctx).await,
            Platform::Threads => self.threads.execute(step, ctx).await,
            Platform::Telegram => self.telegram.execute(step, ctx).await,
        };
        match &outcome {
            Ok(done) => {
                tracing::info!(remote_id = %done.remote_id, degraded = done.is_degraded(), "step done")
            }
            Err(failure) => {
                tracing::warn!(class = %failure.class, code = ?failure.code(), "step failed")
            }
        }
        outcome
    }

    /// Whether a post with `text` by `account`, made at or after `since`, exists on the
    /// platform. Telegram answers [`Lookup::CannotKnow`].
    #[instrument(skip_all, fields(platform = %account.platform))]
    pub async fn lookup(
        &self,
        account: &Account,
        text: &str,
        since: DateTime<Utc>,
    ) -> Result<Lookup, PlatformFailure> {
        match account.platform {
            Platform::Twitter => self.twitter.lookup(account, text, since).await,
            Platform::Linkedin => self.linkedin.lookup(account, text, since).await,
            Platform::Facebook => self.facebook.lookup(account, text, since).await,
            Platform::Instagram => self.instagram.lookup(account, text, since).await,
            Platform::Threads => self.threads.lookup(account, text, since).await,
            Platform::Telegram => Ok(Lookup::CannotKnow),
        }
    }

    /// Which post a duplicate refusal points at: the one it names, read back (LinkedIn: a
    /// refusal may name a post deleted since), else one found by a lookup for `text` since
    /// `since`, else [`DuplicateOf::Unnamed`]. A read that fails is an error (look again).
    #[instrument(skip_all, fields(platform = %account.platform))]
    pub async fn duplicate_of(
        &self,
        account: &Account,
        refusal: &DuplicateRefusal,
        text: &str,
        since: DateTime<Utc>,
    ) -> Result<DuplicateOf, PlatformFailure> {
        let mut deleted = None;
        if let (Platform::Linkedin, Some(urn)) = (account.platform, refusal.named.as_deref()) {
            match self.linkedin.post_exists(account, urn).await? {
                Some(false) => deleted = Some(urn.to_owned()),
                exists => {
                    return Ok(DuplicateOf::Found {
                        remote_id: urn.to_owned(),
                        url: Some(self.linkedin.post_url(urn)),
                        read_back: exists.is_some(),
                    });
                }
            }
        }
        Ok(match self.lookup(account, text, since).await? {
            Lookup::Found { remote_id, url } => DuplicateOf::Found {
                remote_id,
                url,
                read_back: true,
            },
            _ if deleted.is_some() => DuplicateOf::Deleted {
                remote_id: deleted.unwrap_or_default(),
            },
            Lookup::NotFound => DuplicateOf::Unnamed {
                reason: "the platform refused the post as a duplicate but named no post, and a lookup found none".into(),
            },
            Lookup::Inconclusive { reason } => DuplicateOf::Unnamed { reason },
            Lookup::CannotKnow => DuplicateOf::Unnamed {
                reason: "the platform refused the post as a duplicate, names no post and cannot be searched".into(),
            },
        })
    }
}

/// Whether one forced refresh may cure `failure` before the account owner must reconnect
/// (docs/tokens.md: a 401 on publish triggers one refresh and one retry).
///
/// Only X qualifies: its refresh token outlives the access token. Meta and Threads "refresh"
/// by exchanging the current token, which fails once it has expired (refresh those ahead of
/// `expires_at`), and LinkedIn standard apps have no refresh at all.
pub fn refresh_may_help(failure: &PlatformFailure) -> bool {
    failure.class == ErrorClass::ReconnectRequired
        && failure.platform == Platform::Twitter
        && failure.status == Some(401)
}
