//! The error taxonomy. Every failure of a platform call is classified once, in
//! `herald-platforms`, into one of five classes; the worker decides what happens next from the
//! class alone, and the user sees the platform's own code and message next to a hint that says
//! what to do.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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

/// A classified failure of a platform call, as stored on a delivery and shown to users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformFailure {
    pub class: ErrorClass,
    pub platform: Platform,
    /// The platform's own code (`88`, `190/463`, `65600`, `DUPLICATE_POST`), when it gave one.
    pub code: Option<String>,
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
            code: None,
            message: message.into(),
            hint: None,
            retry_at: None,
        }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
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
}

impl std::fmt::Display for PlatformFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.platform.display_name(), self.class)?;
        if let Some(code) = &self.code {
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
        .with_code("403")
        .with_hint("Add the bot to the channel as an admin with the Post Messages permission");
        assert_eq!(
            failure.to_string(),
            "Telegram permanent (403): Forbidden: bot is not a member of the channel chat. \
             Add the bot to the channel as an admin with the Post Messages permission"
        );
    }
}
