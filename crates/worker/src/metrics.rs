//! The worker's Prometheus metrics, registered in a `prometheus_client` registry that the
//! process exposes with [`serve`] (`herald work` on `worker.metrics_addr`; the API's `/metrics`
//! can register the same families in its registry with [`Metrics::register`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use herald_domain::Platform;

use crate::gates::Gate;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// How the handling of one job ended: the `outcome` label of `herald_deliveries`.
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

/// What a token refresh came to: the `outcome` label of `herald_token_refreshes`.
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
struct GateLabels {
    platform: String,
    gate: String,
}

/// Counters and histograms the pipeline updates. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Metrics {
    deliveries: Family<OutcomeLabels, Counter>,
    publish_seconds: Family<PlatformLabels, Histogram>,
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
            deliveries: Family::default(),
            publish_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.05, 2.0, 12))
            }),
            rate_limit_waits: Family::default(),
            refreshes: Family::default(),
            duplicates: Counter::default(),
            in_flight: Gauge::default(),
            webhooks_delivered: Counter::default(),
            webhooks_failed: Counter::default(),
        };
        registry.register(
            "herald_deliveries",
            "Deliveries finished or rescheduled, by platform and outcome",
            metrics.deliveries.clone(),
        );
        registry.register(
            "herald_publish_seconds",
            "Time from claim to a recorded outcome",
            metrics.publish_seconds.clone(),
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
        metrics
    }

    /// Metrics in a registry of their own, returned alongside.
    pub fn standalone() -> (Self, Arc<Registry>) {
        let mut registry = Registry::default();
        let metrics = Self::register(&mut registry);
        (metrics, Arc::new(registry))
    }

    pub(crate) fn outcome(&self, platform: Platform, outcome: Handled) {
        self.deliveries
            .get_or_create(&OutcomeLabels {
                platform: platform.as_str().to_owned(),
                outcome: outcome.as_str().to_owned(),
            })
            .inc();
    }

    pub(crate) fn publish_time(&self, platform: Platform, elapsed: Duration) {
        self.publish_seconds
            .get_or_create(&PlatformLabels {
                platform: platform.as_str().to_owned(),
            })
            .observe(elapsed.as_secs_f64());
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
