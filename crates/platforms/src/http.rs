//! The one HTTP client every platform call goes through, and what a lost answer means.
//!
//! A transport failure is classified here, once, by *when* it happened:
//!
//! - the connection could not be made (DNS, refused, TLS, connect timeout): nothing reached
//!   the platform, so the call is safe to repeat: [`ErrorClass::Retryable`];
//! - the request went out and no complete answer came back (request timeout, connection reset,
//!   a body that could not be read): for a call that publishes, the post may exist, so the
//!   outcome is [`ErrorClass::UnknownOutcome`] and the worker looks the post up before doing
//!   anything else; for every other call (reads, media uploads, containers, whose duplicates
//!   are harmless) it is retryable.
//!
//! Messages are built from `reqwest::Error::without_url()` and its source chain: Graph and
//! Threads carry the access token in the query string, so a URL never reaches an error, a log
//! line or a span.

use std::time::Duration;

use chrono::Utc;
use herald_domain::{Code, ErrorClass, Platform, PlatformFailure};
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

use crate::classify::{self, Call};
use crate::hints;
use crate::rate::{self, RateObservation};

/// Connection settings of the one HTTP client, and how long Herald waits for platforms that
/// process media before a post can be published.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Time allowed to open a connection (safe to retry when it runs out).
    pub connect_timeout: Duration,
    /// Time allowed for one whole request and its answer.
    pub request_timeout: Duration,
    pub user_agent: String,
    /// Pause between two status polls (Instagram/Threads containers, LinkedIn images).
    pub poll_interval: Duration,
    /// How long an Instagram or Threads container may stay `IN_PROGRESS` before the step gives
    /// up (retryable: the next attempt resumes polling the same container). LinkedIn's image
    /// wait is `platforms.linkedin.image_wait` in the configuration.
    pub container_wait: Duration,
    /// How many pages of recent posts a lookup reads at most before it answers
    /// "inconclusive" (see `crate::lookup`).
    pub lookup_pages: u32,
    /// How long a lookup may page back before it answers "inconclusive".
    pub lookup_time: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            user_agent: concat!("herald/", env!("CARGO_PKG_VERSION")).to_owned(),
            poll_interval: Duration::from_secs(1),
            container_wait: Duration::from_secs(60),
            lookup_pages: 20,
            lookup_time: Duration::from_secs(10),
        }
    }
}

/// Whether a request that may have reached the platform can be repeated blindly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Reads, token calls, media uploads, containers: repeating one is harmless.
    Repeatable,
    /// A call that makes a post visible: a lost answer is an unknown outcome.
    Publishes,
}

/// A platform's complete answer: status, headers, body, and what the headers say about the
/// remaining rate budget.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
    pub(crate) rate: RateObservation,
}

impl Reply {
    pub(crate) fn is_success(&self) -> bool {
        self.status.is_success()
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as `T`. A success whose body does not parse is a platform that answered in a
    /// shape Herald does not know: for a publish that is an unknown outcome (the post may
    /// exist), otherwise retryable.
    pub(crate) fn json<T: DeserializeOwned>(
        &self,
        platform: Platform,
        sent: Sent,
    ) -> Result<T, PlatformFailure> {
        serde_json::from_str(&self.body).map_err(|err| {
            let class = match sent {
                Sent::Publishes => ErrorClass::UnknownOutcome,
                Sent::Repeatable => ErrorClass::Retryable,
            };
            let mut failure = PlatformFailure::new(
                class,
                platform,
                format!("unexpected answer from {}: {err}", platform.display_name()),
            )
            .with_status(self.status.as_u16());
            if class == ErrorClass::UnknownOutcome {
                failure = failure.with_hint(hints::UNKNOWN_OUTCOME);
            }
            failure
        })
    }

    /// This reply as a classified failure.
    pub(crate) fn failure(&self, platform: Platform, call: Call) -> PlatformFailure {
        classify::classify_response(
            platform,
            call,
            self.status.as_u16(),
            &self.headers,
            &self.body,
            Utc::now(),
        )
    }

    /// `Ok(self)` for a 2xx answer, else the classified failure.
    pub(crate) fn ok_or_failure(
        self,
        platform: Platform,
        call: Call,
    ) -> Result<Reply, PlatformFailure> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(self.failure(platform, call))
        }
    }
}

/// The shared reqwest client (one connection pool for every platform).
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    lookup: crate::lookup::Bounds,
}

impl Http {
    pub(crate) fn new(settings: &HttpSettings) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .user_agent(settings.user_agent.clone())
            .build()?;
        Ok(Self {
            client,
            lookup: crate::lookup::Bounds {
                pages: settings.lookup_pages.max(1),
                time: settings.lookup_time,
            },
        })
    }

    /// How far a lookup may page back.
    pub(crate) fn lookup_bounds(&self) -> crate::lookup::Bounds {
        self.lookup
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends `request` and reads the whole answer. Only transport failures are errors here;
    /// a 4xx/5xx answer is a [`Reply`] for the platform module to classify.
    pub(crate) async fn send(
        &self,
        platform: Platform,
        request: RequestBuilder,
        sent: Sent,
    ) -> Result<Reply, PlatformFailure> {
        let response = request
            .send()
            .await
            .map_err(|err| transport_failure(platform, &err, sent))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .text()
            .await
            .map_err(|err| transport_failure(platform, &err, sent).with_status(status.as_u16()))?;
        tracing::debug!(status = status.as_u16(), "platform answered");
        let rate = rate::observe(platform, &headers, Utc::now());
        Ok(Reply {
            status,
            headers,
            body,
            rate,
        })
    }
}

/// A transport error as a failure: connect errors are safe to retry; anything after the
/// request left is an unknown outcome for a publishing call.
pub(crate) fn transport_failure(
    platform: Platform,
    err: &reqwest::Error,
    sent: Sent,
) -> PlatformFailure {
    let message = error_chain(err);
    if err.is_builder() {
        return PlatformFailure::new(ErrorClass::Permanent, platform, message)
            .with_herald_code(Code::Request)
            .with_hint(hints::BAD_REQUEST_BUILD);
    }
    if err.is_connect() {
        return PlatformFailure::new(
            ErrorClass::Retryable,
            platform,
            format!(
                "could not connect to {}: {message}",
                platform.display_name()
            ),
        )
        .with_herald_code(Code::Connect);
    }
    let code = if err.is_timeout() {
        Code::Timeout
    } else {
        Code::Connection
    };
    match sent {
        Sent::Publishes => PlatformFailure::new(
            ErrorClass::UnknownOutcome,
            platform,
            format!(
                "the request was sent to {} but no answer came back: {message}",
                platform.display_name()
            ),
        )
        .with_herald_code(code)
        .with_hint(hints::UNKNOWN_OUTCOME),
        Sent::Repeatable => PlatformFailure::new(
            ErrorClass::Retryable,
            platform,
            format!("{} did not answer: {message}", platform.display_name()),
        )
        .with_herald_code(code),
    }
}

/// The error and its causes on one line, without the URL (which may hold a token).
fn error_chain(err: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else if err.is_body() || err.is_decode() {
        "the answer could not be read"
    } else {
        "request failed"
    };
    parts.push(kind.to_owned());
    while let Some(cause) = source {
        let text = cause.to_string();
        // A cause never repeats the URL in practice, but make sure no query string slips out.
        let text = match text.find("access_token") {
            Some(at) => format!("{}[redacted]", &text[..at]),
            None => text,
        };
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}
