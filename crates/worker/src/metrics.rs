//! The worker's Prometheus metrics, registered in a `prometheus_client` registry that the
//! process exposes with [`serve`] (`herald work` on `worker.metrics_addr`).
//!
//! Names follow Prometheus' conventions, and the dashboards and alerts under
//! `deploy/grafana/` and `deploy/prometheus/` query them by name (a test checks every name
//! they use is exported): counters are registered without `_total`, which the encoder adds;
//! durations are `_seconds` histograms. No family shares a name with one of the API's
//! (`crates/api/src/metrics.rs`): the API's `herald_deliveries` is the fleet's deliveries by
//! state, read from Postgres; the worker's runs are `herald_delivery_runs_total`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use chrono::{DateTime, Utc};
use herald_domain::{ErrorClass, Platform, PlatformFailure};
use herald_store::Delivery;

use crate::gates::Gate;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// How the handling of one job ended: the `outcome` label of `herald_delivery_runs_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Handled {
    Published,
    /// Back to wait for a rate window (a gate or the platform's word).
    RateLimited,
    Retrying,
    Dead,
    /// Failed for good (permanent, or the account must reconnect).
    Failed,
    /// The outcome is unknown and left to an operator.
    Unknown,
    /// Handed back to the queue between steps (shutdown).
    Checkpointed,
    /// Another worker owns the delivery now; nothing was recorded.
    LeaseLost,
    /// The outcome could not be written; the lease expires and the journal tells the next
    /// owner.
    StoreError,
    /// Stopped with a platform call in flight; left for the journal to resolve.
    Abandoned,
}

impl Handled {
    pub const ALL: [Handled; 10] = [
        Handled::Published,
        Handled::RateLimited,
        Handled::Retrying,
        Handled::Dead,
        Handled::Failed,
        Handled::Unknown,
        Handled::Checkpointed,
        Handled::LeaseLost,
        Handled::StoreError,
        Handled::Abandoned,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Handled::Published => "published",
            Handled::RateLimited => "rate_limited",
            Handled::Retrying => "retrying",
            Handled::Dead => "dead",
            Handled::Failed => "failed",
            Handled::Unknown => "unknown",
            Handled::Checkpointed => "checkpointed",
            Handled::LeaseLost => "lease_lost",
            Handled::StoreError => "store_error",
            Handled::Abandoned => "abandoned",
        }
    }
}

impl std::fmt::Display for Handled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a token refresh came to: the `outcome` label of `herald_token_refreshes_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refreshed {
    /// Another worker had refreshed it while this one waited for the lock.
    AlreadyRefreshed,
    Refreshed,
    /// The platform failed for now; the delivery retries.
    RetryLater,
    /// The platform refused for good; the connection needs a reconnect.
    Failed,
}

impl Refreshed {
    pub const ALL: [Refreshed; 4] = [
        Refreshed::AlreadyRefreshed,
        Refreshed::Refreshed,
        Refreshed::RetryLater,
        Refreshed::Failed,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Refreshed::AlreadyRefreshed => "already_refreshed",
            Refreshed::Refreshed => "refreshed",
            Refreshed::RetryLater => "retry_later",
            Refreshed::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    platform: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PlatformLabels {
    platform: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    platform: String,
    class: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GateLabels {
    platform: String,
    gate: String,
}

/// Counters and histograms the pipeline updates. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Metrics {
    runs: Family<OutcomeLabels, Counter>,
    run_seconds: Family<PlatformLabels, Histogram>,
    publish_latency: Family<PlatformLabels, Histogram>,
    failures: Family<FailureLabels, Counter>,
    rate_limit_waits: Family<GateLabels, Counter>,
    refreshes: Family<OutcomeLabels, Counter>,
    duplicates: Counter,
    in_flight: Gauge,
    webhooks_delivered: Counter,
    webhooks_failed: Counter,
}

impl Metrics {
    /// Registers the worker's metrics in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            runs: Family::default(),
            // 50 ms to about 100 s.
            run_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.05, 2.0, 12))
            }),
            // 100 ms to about 55 minutes: a backlog or a long wait shows in the upper buckets.
            publish_latency: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.1, 2.0, 16))
            }),
            failures: Family::default(),
            rate_limit_waits: Family::default(),
            refreshes: Family::default(),
            duplicates: Counter::default(),
            in_flight: Gauge::default(),
            webhooks_delivered: Counter::default(),
            webhooks_failed: Counter::default(),
        };
        registry.register(
            "herald_delivery_runs",
            "Runs of a delivery (a claimed job) that ended, by platform and outcome",
            metrics.runs.clone(),
        );
        registry.register(
            "herald_delivery_run_seconds",
            "Time from a run's claim to its recorded outcome, by platform",
            metrics.run_seconds.clone(),
        );
        registry.register(
            "herald_publish_latency_seconds",
            "Time from a delivery's due time (its run_at when the run that published it was \
             claimed) to its published record, by platform",
            metrics.publish_latency.clone(),
        );
        registry.register(
            "herald_delivery_failures",
            "Runs that ended in a failure, by platform and error class (retryable, permanent, \
             reconnect_required, unknown_outcome, rate_limited), whatever comes next",
            metrics.failures.clone(),
        );
        registry.register(
            "herald_rate_limit_waits",
            "Deliveries sent to wait for a rate window, by platform and gate",
            metrics.rate_limit_waits.clone(),
        );
        registry.register(
            "herald_token_refreshes",
            "Token refreshes, by platform and result",
            metrics.refreshes.clone(),
        );
        registry.register(
            "herald_duplicate_jobs",
            "Jobs that found nothing to claim (duplicates, already done)",
            metrics.duplicates.clone(),
        );
        registry.register(
            "herald_deliveries_in_flight",
            "Deliveries this process is running",
            metrics.in_flight.clone(),
        );
        registry.register(
            "herald_webhooks_delivered",
            "Webhook requests answered 2xx",
            metrics.webhooks_delivered.clone(),
        );
        registry.register(
            "herald_webhooks_failed_attempts",
            "Webhook requests that failed (retried or given up)",
            metrics.webhooks_failed.clone(),
        );
        metrics.start_at_zero();
        metrics
    }

    /// Creates every (platform, label) series at zero, so each family is exported from the
    /// start (a family with no series is left out of the text) and `rate()` and
    /// `increase()` see a delivery's first dead run, first failure or first wait rather
    /// than a series that appears already at 1.
    fn start_at_zero(&self) {
        const GATES: [Gate; 4] = [
            Gate::BlockedUntil,
            Gate::Gcra,
            Gate::Window,
            Gate::RedisUnavailable,
        ];
        for platform in Platform::ALL {
            let name = || platform.as_str().to_owned();
            let labels = PlatformLabels { platform: name() };
            self.run_seconds.get_or_create_owned(&labels);
            self.publish_latency.get_or_create_owned(&labels);
            for outcome in Handled::ALL {
                self.runs.get_or_create_owned(&OutcomeLabels {
                    platform: name(),
                    outcome: outcome.as_str().to_owned(),
                });
            }
            for result in Refreshed::ALL {
                self.refreshes.get_or_create_owned(&OutcomeLabels {
                    platform: name(),
                    outcome: result.as_str().to_owned(),
                });
            }
            for class in ErrorClass::ALL {
                self.failures.get_or_create_owned(&FailureLabels {
                    platform: name(),
                    class: class.as_str().to_owned(),
                });
            }
            for gate in GATES {
                self.rate_limit_waits.get_or_create_owned(&GateLabels {
                    platform: name(),
                    gate: gate.as_str().to_owned(),
                });
            }
        }
    }

    /// Metrics in a registry of their own, returned alongside.
    pub fn standalone() -> (Self, Arc<Registry>) {
        let mut registry = Registry::default();
        let metrics = Self::register(&mut registry);
        (metrics, Arc::new(registry))
    }

    /// How the run of `delivery` (as claimed) ended; a publish also observes its latency
    /// from the delivery's due time.
    pub(crate) fn outcome(&self, delivery: &Delivery, outcome: Handled) {
        let platform = delivery.platform;
        self.runs
            .get_or_create(&OutcomeLabels {
                platform: platform.as_str().to_owned(),
                outcome: outcome.as_str().to_owned(),
            })
            .inc();
        if outcome == Handled::Published {
            self.published_after(platform, latency(delivery.run_at, Utc::now()));
        }
    }

    fn published_after(&self, platform: Platform, latency: Duration) {
        self.publish_latency
            .get_or_create(&PlatformLabels {
                platform: platform.as_str().to_owned(),
            })
            .observe(latency.as_secs_f64());
    }

    pub(crate) fn run_time(&self, platform: Platform, elapsed: Duration) {
        self.run_seconds
            .get_or_create(&PlatformLabels {
                platform: platform.as_str().to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// A run ended in `failure` (whatever the delivery does next).
    pub(crate) fn failure(&self, failure: &PlatformFailure) {
        self.failures
            .get_or_create(&FailureLabels {
                platform: failure.platform.as_str().to_owned(),
                class: failure.class.as_str().to_owned(),
            })
            .inc();
    }

    pub(crate) fn rate_limited(&self, platform: Platform, gate: Gate) {
        self.rate_limit_waits
            .get_or_create(&GateLabels {
                platform: platform.as_str().to_owned(),
                gate: gate.as_str().to_owned(),
            })
            .inc();
    }

    pub(crate) fn refresh(&self, platform: Platform, result: Refreshed) {
        self.refreshes
            .get_or_create(&OutcomeLabels {
                platform: platform.as_str().to_owned(),
                outcome: result.as_str().to_owned(),
            })
            .inc();
    }

    pub(crate) fn duplicate(&self) {
        self.duplicates.inc();
    }

    pub(crate) fn in_flight(&self) -> &Gauge {
        &self.in_flight
    }

    pub(crate) fn webhook_attempt(&self, delivered: bool) {
        if delivered {
            self.webhooks_delivered.inc();
        } else {
            self.webhooks_failed.inc();
        }
    }
}

/// From `due` to `now`; none when the clocks disagree about which came first.
fn latency(due: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (now - due).to_std().unwrap_or(Duration::ZERO)
}

/// Serves `GET /metrics` (the OpenMetrics text of `registry`) and `GET /healthz` on
/// `listener` until `shutdown` completes.
pub async fn serve(
    registry: Arc<Registry>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "worker metrics listening");
    }
    let app = Router::new()
        .route("/metrics", get(render))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(registry);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn render(State(registry): State<Arc<Registry>>) -> Response {
    let mut body = String::new();
    if prometheus_client::encoding::text::encode(&mut body, &registry).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn text(registry: &Registry) -> String {
        let mut body = String::new();
        prometheus_client::encoding::text::encode(&mut body, registry).unwrap();
        body
    }

    #[test]
    fn a_failure_is_counted_by_platform_and_class_and_counters_end_in_total() {
        let (metrics, registry) = Metrics::standalone();
        metrics.failure(&PlatformFailure::new(
            ErrorClass::ReconnectRequired,
            Platform::Linkedin,
            "revoked",
        ));
        metrics.published_after(Platform::Telegram, Duration::from_millis(250));
        let body = text(&registry);
        for line in [
            "herald_delivery_failures_total{platform=\"linkedin\",class=\"reconnect_required\"} 1",
            "herald_publish_latency_seconds_count{platform=\"telegram\"} 1",
            "herald_publish_latency_seconds_sum{platform=\"telegram\"} 0.25",
            "herald_publish_latency_seconds_bucket{le=\"0.4\",platform=\"telegram\"} 1",
            // Every series starts at zero, so its first increase is seen.
            "herald_delivery_failures_total{platform=\"linkedin\",class=\"permanent\"} 0",
            "herald_delivery_runs_total{platform=\"twitter\",outcome=\"dead\"} 0",
            "herald_rate_limit_waits_total{platform=\"threads\",gate=\"window\"} 0",
            "herald_token_refreshes_total{platform=\"facebook\",outcome=\"failed\"} 0",
        ] {
            assert!(body.lines().any(|l| l == line), "{line} in\n{body}");
        }
    }

    #[test]
    fn latency_is_never_negative() {
        let now = Utc::now();
        assert_eq!(
            latency(now + chrono::TimeDelta::seconds(2), now),
            Duration::ZERO
        );
        assert_eq!(
            latency(now - chrono::TimeDelta::seconds(2), now),
            Duration::from_secs(2)
        );
    }
}
