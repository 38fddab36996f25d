//! The webhook sender: runs in `herald work` beside the sweeper and POSTs each tenant's
//! events to the URLs it registered through the API (`/v1/webhooks`).
//!
//! # Events
//!
//! `delivery.<state>` for each state change of a delivery, `post.completed` once every
//! delivery of a post is final, `connection.needs_reconnect` when a connection's token is
//! refused for good, and `connection.expiring` `api.webhooks.expiring_notice_days` before a
//! token Herald cannot refresh expires. Each body is `{id, type, timestamp, data}` (and
//! `at`, the same as `timestamp`, which earlier receivers read), the payload structure
//! Standard Webhooks recommends.
//!
//! # Signing
//!
//! Standard Webhooks (`herald_store::webhook_signing`): `webhook-id` (`msg_<event id>`,
//! the same on every retry), `webhook-timestamp` and `webhook-signature`, which any
//! Standard Webhooks library verifies with the secret returned at registration. A receiver
//! rejects timestamps too far from its clock, which stops replays of captured requests, and
//! drops duplicate `webhook-id`s: delivery is at least once. Webhooks registered before
//! Standard Webhooks also get the earlier `Herald-Timestamp` and `Herald-Signature`
//! ([`signature`], [`verify`]) until their secret is rotated.
//!
//! # Sending
//!
//! [`Sender::run`] runs in every worker process. Each round it fans new events out into the
//! webhook delivery log (once per event and webhook, whichever process does it: see
//! `herald_store::webhooks`), claims due attempts with a lease, and sends them. A 2xx is
//! delivered; anything else is retried after the next wait of
//! `api.webhooks.retry_schedule_secs` (jittered by a tenth, so a recovering receiver is not
//! hit by every retry at once) and failed for good once the schedule is exhausted. Redirects
//! are not followed, and the response body is not read beyond its status.
//!
//! Every request goes through the outbound guard (`herald_outbound`): the URL, checked at
//! registration, is checked again at each send, and its name is resolved and checked on the
//! addresses actually connected to. A send the guard refuses makes no request and is that
//! attempt's failure, retried and given up like any other.
//!
//! # Stopping
//!
//! Asked to stop, the sender finishes the round it is in (each request is bounded by
//! `api.webhooks.timeout_secs`), and the worker waits for it at most
//! [`Sender::shutdown_timeout`]. An attempt cut short keeps its lease and is sent again when
//! the lease ends.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use futures::StreamExt;
use herald_outbound::{Guard, Redirects};
use herald_store::webhook_signing;
use herald_store::{AttemptOutcome, DueWebhookDelivery, Store, StoreError};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::jitter::jittered;
use crate::metrics::Metrics;

const CLAIM_BATCH: i64 = 32;
const CONCURRENCY: usize = 8;
/// How many new events of one webhook a round queues at most.
const FAN_OUT_BATCH: i64 = 500;
/// A retry's wait varies by this fraction of itself either way.
const JITTER: f64 = 0.1;
/// How many delivery events a round reads to find completed posts.
const COMPLETED_BATCH: i64 = 1000;
/// How often a sender looks for tokens about to expire.
const EXPIRING_CHECK_EVERY: Duration = Duration::from_secs(60);

/// How webhooks are sent (`api.webhooks` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// How often the sender looks for new events and due retries.
    pub poll: Duration,
    /// Time limit of one request.
    pub timeout: Duration,
    /// Waits between attempts of one delivery; its length is the number of retries.
    pub retry_schedule: Vec<Duration>,
    /// How long before a token Herald cannot refresh expires `connection.expiring` is sent
    /// (zero: never).
    pub expiring_notice: Duration,
    /// What webhook URLs may reach (`outbound` in the configuration).
    pub outbound: herald_outbound::Policy,
}

/// The sender could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client for webhooks: {0}")]
pub struct WebhookError(#[source] reqwest::Error);

/// Sends the webhooks' due attempts. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Sender {
    store: Store,
    settings: WebhookSettings,
    metrics: Metrics,
    http: reqwest::Client,
    guard: Guard,
}

impl Sender {
    pub fn new(
        store: Store,
        settings: WebhookSettings,
        metrics: Metrics,
    ) -> Result<Self, WebhookError> {
        let guard = Guard::new(settings.outbound.clone());
        let http = guard
            .client(
                reqwest::Client::builder().timeout(settings.timeout),
                Redirects::None,
            )
            .map_err(WebhookError)?;
        Ok(Self {
            store,
            settings,
            metrics,
            http,
            guard,
        })
    }

    /// How long a stopping process waits for the round in progress: its requests' time
    /// limit, and a little for recording their results.
    pub fn shutdown_timeout(&self) -> Duration {
        self.settings.timeout + Duration::from_secs(5)
    }

    /// Sends rounds of due attempts every `poll` until `stop` is cancelled; the round in
    /// progress is finished first.
    pub async fn run(self, stop: CancellationToken) {
        let mut expiring_checked: Option<tokio::time::Instant> = None;
        loop {
            if !self.settings.expiring_notice.is_zero()
                && expiring_checked.is_none_or(|at| at.elapsed() >= EXPIRING_CHECK_EVERY)
            {
                match self
                    .store
                    .webhooks()
                    .note_expiring_connections(self.settings.expiring_notice)
                    .await
                {
                    Ok(_) => expiring_checked = Some(tokio::time::Instant::now()),
                    Err(error) => tracing::warn!(%error, "expiring-token check failed; retrying"),
                }
            }
            if let Err(error) = self.round().await {
                tracing::warn!(%error, "webhook round failed; retrying");
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(self.settings.poll) => {}
            }
        }
    }

    /// Notes completed posts, queues new events, then sends the attempts that are due.
    async fn round(&self) -> Result<(), StoreError> {
        let webhooks = self.store.webhooks();
        webhooks.note_completed_posts(COMPLETED_BATCH).await?;
        webhooks.fan_out(FAN_OUT_BATCH).await?;
        // Longer than a request may take, so an attempt is not claimed twice while sent.
        let lease = self.settings.timeout + Duration::from_secs(30);
        let due = webhooks.claim_due(CLAIM_BATCH, lease).await?;
        futures::stream::iter(due)
            .for_each_concurrent(CONCURRENCY, |attempt| self.send(attempt))
            .await;
        Ok(())
    }

    async fn send(&self, attempt: DueWebhookDelivery) {
        let (status, error) = match self.checked_url(&attempt.url) {
            Ok(url) => self.post(&attempt, url).await,
            Err(reason) => (None, Some(reason)),
        };
        self.record(&attempt, status, error).await;
    }

    /// The webhook's URL if the guard lets it be sent to now; otherwise why not.
    fn checked_url(&self, url: &str) -> Result<Url, String> {
        let url = Url::parse(url).map_err(|e| format!("refused: invalid URL ({e})"))?;
        self.guard
            .check_url(&url)
            .map_err(|refusal| format!("refused: {refusal}"))?;
        Ok(url)
    }

    /// Sends one attempt: the response status, and the error unless it was a 2xx.
    async fn post(&self, attempt: &DueWebhookDelivery, url: Url) -> (Option<u16>, Option<String>) {
        let body = serde_json::to_vec(&attempt.payload).unwrap_or_default();
        let timestamp = Utc::now().timestamp();
        let mut request = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("user-agent", "herald-webhooks/1")
            .header("herald-webhook-id", attempt.webhook_id.to_string())
            .header("herald-event-id", attempt.event_id.to_string());
        for (name, value) in webhook_signing::headers(
            attempt.secret.expose_secret(),
            attempt.signing,
            &message_id(attempt.event_id),
            timestamp,
            &body,
        ) {
            request = request.header(name, value);
        }
        let result = request.body(body).send().await;
        match result {
            Ok(response) if response.status().is_success() => {
                (Some(response.status().as_u16()), None)
            }
            Ok(response) => (
                Some(response.status().as_u16()),
                Some(format!("answered {}", response.status())),
            ),
            // Without the URL: it may carry a receiver's own secret.
            Err(e) => (None, Some(transport_error(&e))),
        }
    }

    /// Records an attempt's result and schedules its retry, or its end.
    async fn record(
        &self,
        attempt: &DueWebhookDelivery,
        status: Option<u16>,
        error: Option<String>,
    ) {
        let delivered = error.is_none();
        self.metrics.webhook_attempt(delivered);
        let outcome = if delivered {
            AttemptOutcome::Delivered
        } else {
            let retry = usize::try_from(attempt.attempts - 1).unwrap_or(usize::MAX);
            match self.settings.retry_schedule.get(retry) {
                Some(wait) => AttemptOutcome::RetryAt(Utc::now() + retry_wait(*wait)),
                None => AttemptOutcome::Failed,
            }
        };
        if let Err(e) = self
            .store
            .webhooks()
            .record_attempt(attempt.id, status, error.as_deref(), outcome)
            .await
        {
            tracing::warn!(error = %e, "could not record a webhook attempt");
        }
    }
}

/// The wait before a retry, jittered.
fn retry_wait(wait: Duration) -> TimeDelta {
    TimeDelta::from_std(jittered(wait, JITTER)).unwrap_or(TimeDelta::MAX)
}

/// The `webhook-id` of an event's messages: the same on every retry.
pub fn message_id(event_id: i64) -> String {
    format!("msg_{event_id}")
}

fn transport_error(e: &reqwest::Error) -> String {
    if let Some(refusal) = herald_outbound::refusal(e) {
        format!("refused: {refusal}")
    } else if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        let text = e.to_string();
        match e.url() {
            Some(url) => text.replace(url.as_str(), "<url>"),
            None => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_waits_are_jittered_within_a_tenth() {
        for _ in 0..100 {
            let wait = retry_wait(Duration::from_secs(10)).num_milliseconds();
            assert!((9_000..=11_000).contains(&wait), "{wait}");
        }
    }
}
