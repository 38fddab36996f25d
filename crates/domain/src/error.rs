//! The error taxonomy. Every failure of a platform call is classified once, in
//! `herald-platforms`, into one of five classes; the worker decides what happens next from the
//! class alone, and the user sees the platform's own code and message next to a hint that says
//! what to do.
//!
//! A failure carries three separate facts about where it came from: the HTTP status the
//! platform answered ([`PlatformFailure::status`]), the platform's own code
//! ([`PlatformFailure::platform_code`], opaque: only shown and stored) and Herald's own
//! [`Code`] when Herald is the one who gave up (a timeout, a missing page, a deleted
//! connection). Code decides on the typed fields only; the single string people see
//! (`code` on a delivery's error and in API problems) is derived from them in one place,
//! [`PlatformFailure::code`].

use chrono::{DateTime, Utc};

use crate::platform::Platform;
use crate::state::string_enum;

string_enum!(
    /// What kind of failure it was, which decides what Herald does next.
    ErrorClass, "error class" {
        // Try again later with backoff: 5xx, network errors before the request was sent,
        // Graph codes 1 and 2.
        Retryable => "retryable",
        // Over a platform window: wait until it frees; costs no attempt.
        RateLimited => "rate_limited",
        // The request itself is wrong (validation, duplicate, permissions): retrying the same
        // request cannot succeed.
        Permanent => "permanent",
        // The token is expired or revoked and cannot be refreshed: the account owner must
        // connect again.
        ReconnectRequired => "reconnect_required",
        // The request was sent and no answer came back: it may or may not have taken effect.
        UnknownOutcome => "unknown_outcome",
    }
);

string_enum!(
    /// Every code Herald coins for a failure that is its own rather than the platform's.
    /// The names are stored on deliveries and shown by the API, so they never change.
    Code, "failure code" {
        // The request could not even be built (a bad URL or header).
        Request => "request",
        // The connection to the platform could not be made: nothing was sent.
        Connect => "connect",
        // The request went out and the answer did not come in time.
        Timeout => "timeout",
        // The request went out and the connection broke before the answer.
        Connection => "connection",
        // The platform's app credentials are missing from the configuration.
        NotConfigured => "not_configured",
        // The platform has no such flow (refreshing a Telegram bot token, ...).
        Unsupported => "unsupported",
        // X's code exchange without the PKCE verifier stored with the state.
        Pkce => "pkce",
        // X still processing an upload when Herald stopped waiting.
        Processing => "processing",
        // LinkedIn answered without a field Herald needs.
        Shape => "shape",
        // A page-target connection without a page selected.
        NoPage => "no_page",
        // Nowhere to post: no Facebook Page, Instagram account, organization, Threads profile.
        NoPages => "no_pages",
        NoInstagramAccount => "no_instagram_account",
        NoOrganizations => "no_organizations",
        NoThreadsAccount => "no_threads_account",
        NoTargets => "no_targets",
        // A refresh without a refresh token: none stored, or LinkedIn's standard apps.
        NoRefreshToken => "no_refresh_token",
        NoRefresh => "no_refresh",
        // A plan that does not fit the account or its own order.
        StepPlatform => "step_platform",
        StepOrder => "step_order",
        MediaMissing => "media_missing",
        // The content breaks the platform's rules.
        Content => "content",
        // The connection was deleted while a delivery waited.
        ConnectionGone => "connection_gone",
        // The connection is not active (or its refresh was refused): reconnect.
        NeedsReconnect => "needs_reconnect",
        // Herald's own database failed.
        Store => "store",
        // A publish whose answer was lost and that cannot be looked up.
        OutcomeUnknown => "outcome_unknown",
        // A lookup of a publish of unknown outcome met its bound before it reached the send
        // time: it runs again later; the post is never sent again on a partial read.
        LookupInconclusive => "lookup_inconclusive",
        // A thread part needs the id of the part before it, which was published but whose id
        // the platform never named.
        RemoteIdUnknown => "remote_id_unknown",
        // The delivery's runs were cut short by their workers' deaths too often
        // (`worker.max_interrupted_runs`): it may be what stops them.
        RunsInterrupted => "runs_interrupted",
        // Another attempt is resolving the same publish.
        ConcurrentAttempt => "concurrent_attempt",
        // Fetching and checking media before the upload.
        MediaInvalid => "media_invalid",
        MediaUrlRefused => "media_url_refused",
        MediaTooLarge => "media_too_large",
        MediaUnavailable => "media_unavailable",
        MediaFetch => "media_fetch",
        MediaStore => "media_store",
        // The platform refused a post because it carries media the account's tier may not
        // post (X's Free tier): the post may go out without it, as a degraded one.
        MediaNotAllowed => "media_not_allowed",
    }
);

/// A classified failure of a platform call, as stored on a delivery and shown to users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformFailure {
    pub class: ErrorClass,
    pub platform: Platform,
    /// The HTTP status of the platform's answer, when there was one.
    pub status: Option<u16>,
    /// The platform's own code (`88`, `190/463`, `65600`, `DUPLICATE_POST`, `invalid_grant`),
    /// when it gave one. Opaque: shown and stored, never decided on.
    pub platform_code: Option<String>,
    /// Herald's own code, when the failure is Herald's rather than the platform's.
    pub herald_code: Option<Code>,
    /// The platform's message, or ours when the platform said nothing (a timeout).
    pub message: String,
    /// What to do about it, in words an operator can act on.
    pub hint: Option<String>,
    /// For `RateLimited`: when the window frees. For `Retryable`: the platform's
    /// `Retry-After`, if it sent one.
    pub retry_at: Option<DateTime<Utc>>,
}

impl PlatformFailure {
    pub fn new(class: ErrorClass, platform: Platform, message: impl Into<String>) -> Self {
        Self {
            class,
            platform,
            status: None,
            platform_code: None,
            herald_code: None,
            message: message.into(),
            hint: None,
            retry_at: None,
        }
    }

    /// The HTTP status the platform answered with.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// The platform's own code for the failure.
    pub fn with_platform_code(mut self, code: impl Into<String>) -> Self {
        self.platform_code = Some(code.into());
        self
    }

    /// Herald's own code for the failure.
    pub fn with_herald_code(mut self, code: Code) -> Self {
        self.herald_code = Some(code);
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_retry_at(mut self, at: DateTime<Utc>) -> Self {
        self.retry_at = Some(at);
        self
    }

    /// The one code people see, stored as a delivery's `error_code` and shown by the API and
    /// the dashboard: the platform's own code when it gave one, else the HTTP status it
    /// answered with, else Herald's code. The platform's word comes first because it is what
    /// its documentation and support speak of.
    pub fn code(&self) -> Option<String> {
        self.platform_code
            .clone()
            .or_else(|| self.status.map(|status| status.to_string()))
            .or_else(|| self.herald_code.map(|code| code.as_str().to_owned()))
    }
}

impl std::fmt::Display for PlatformFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.platform.display_name(), self.class)?;
        if let Some(code) = self.code() {
            write!(f, " ({code})")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, ". {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PlatformFailure {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_reads_as_a_sentence_with_code_and_hint() {
        let failure = PlatformFailure::new(
            ErrorClass::Permanent,
            Platform::Telegram,
            "Forbidden: bot is not a member of the channel chat",
        )
        .with_status(403)
        .with_hint("Add the bot to the channel as an admin with the Post Messages permission");
        assert_eq!(
            failure.to_string(),
            "Telegram permanent (403): Forbidden: bot is not a member of the channel chat. \
             Add the bot to the channel as an admin with the Post Messages permission"
        );
    }

    #[test]
    fn the_shown_code_prefers_the_platforms_code_then_the_status_then_heralds() {
        let base = || PlatformFailure::new(ErrorClass::Retryable, Platform::Facebook, "m");
        assert_eq!(base().code(), None);
        assert_eq!(
            base().with_herald_code(Code::Timeout).code().as_deref(),
            Some("timeout")
        );
        // An answer whose body could not be read: the status says more than "timeout".
        assert_eq!(
            base()
                .with_herald_code(Code::Timeout)
                .with_status(502)
                .code()
                .as_deref(),
            Some("502")
        );
        assert_eq!(
            base()
                .with_status(400)
                .with_platform_code("190/463")
                .code()
                .as_deref(),
            Some("190/463")
        );
    }

    #[test]
    fn every_herald_code_round_trips_through_its_name() {
        for code in Code::ALL {
            assert_eq!(code.as_str().parse::<Code>().unwrap(), *code);
        }
    }
}
