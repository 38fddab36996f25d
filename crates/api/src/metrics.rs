//! `/metrics` in the OpenMetrics text format, encoded by `prometheus_client` like the
//! worker's (so label values are escaped by the library, `\n` included).
//!
//! Two kinds of numbers: counters this process keeps (requests by route and status, posts
//! accepted, jobs pushed or left to the sweeper, rate-limited requests), and gauges read
//! from the store of record when scraped (deliveries by platform and state, the due backlog
//! and its oldest, connections by token health), and from Redis (the queue depth, the
//! workers whose heartbeat is recent), so every API instance reports the same truth about
//! the fleet. The gauges are put in a registry built for each scrape, beside the process'
//! counters, so a (platform, state) that has emptied is not reported with its last value;
//! a source that cannot be read leaves its gauges out of that scrape (and logs why).
//!
//! Names follow Prometheus' conventions (counters registered without `_total`, which the
//! encoder adds; `_seconds` for times) and are shared with no family of the worker's
//! (`crates/worker/src/metrics.rs`): the dashboards and alerts under `deploy/` query them by
//! name, and a test checks every name they use is exported.
//! Route labels are the route *patterns* (`/v1/posts/{id}`), never raw paths, so label
//! cardinality stays bounded whatever clients send.
//!
//! The numbers say how busy every tenant is, so `/metrics` can be kept from the internet:
//! behind a bearer token (`api.metrics_token`), on an address of its own
//! (`api.metrics_addr`, [`router`]), or both. In production the API's own port serves it
//! only behind the token (`ApiConfig::metrics_on_api_port`).

use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use herald_domain::Platform;
use herald_store::{DeliveryCount, DueCount, HealthCount, TokenHealth};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::throttle::{Limit, Surface};
use crate::{ApiError, AppState};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    platform: String,
    state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ThrottleLabels {
    surface: &'static str,
    limit: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PlatformLabels {
    platform: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HealthLabels {
    platform: &'static str,
    health: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    kind: &'static str,
}

/// The counters this process keeps. Cheap to clone (every metric is shared).
#[derive(Debug, Clone)]
pub(crate) struct Metrics {
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RequestLabels, Histogram>,
    posts_created: Counter,
    jobs_pushed: Counter,
    jobs_push_failed: Counter,
    rate_limited: Counter,
    auth_throttled: Family<ThrottleLabels, Counter>,
    streams_refused: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let metrics = Self {
            requests: Family::default(),
            // 5 ms to about 10 s.
            request_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.005, 2.0, 12))
            }),
            posts_created: Counter::default(),
            jobs_pushed: Counter::default(),
            jobs_push_failed: Counter::default(),
            rate_limited: Counter::default(),
            auth_throttled: Family::default(),
            streams_refused: Counter::default(),
        };
        // Every throttle's series from zero, so the family is exported and its first 429 is
        // an increase.
        for surface in [Surface::Api, Surface::Dashboard] {
            for limit in [Limit::Address, Limit::Total] {
                metrics.auth_throttled.get_or_create_owned(&ThrottleLabels {
                    surface: surface.as_str(),
                    limit: limit.as_str(),
                });
            }
        }
        metrics
    }
}

impl Metrics {
    pub(crate) fn post_created(&self) {
        self.posts_created.inc();
    }

    pub(crate) fn dispatched(&self, count: usize) {
        self.jobs_pushed.inc_by(count as u64);
    }

    pub(crate) fn dispatch_failed(&self, count: usize) {
        self.jobs_push_failed.inc_by(count as u64);
    }

    pub(crate) fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    /// A failed authentication answered 429 instead of 401.
    pub(crate) fn auth_throttled(&self, surface: Surface, limit: Limit) {
        self.auth_throttled
            .get_or_create(&ThrottleLabels {
                surface: surface.as_str(),
                limit: limit.as_str(),
            })
            .inc();
    }

    /// An event stream refused because its key holds all it may.
    pub(crate) fn stream_refused(&self) {
        self.streams_refused.inc();
    }

    fn request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let labels = RequestLabels {
            method: method.to_owned(),
            route: route.to_owned(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.request_seconds
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Registers the process' counters in `registry` (names end in `_total` once encoded).
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "herald_api_posts_created",
            "Posts accepted by POST /v1/posts",
            self.posts_created.clone(),
        );
        registry.register(
            "herald_api_jobs_pushed",
            "Publish jobs pushed to Redis after commit",
            self.jobs_pushed.clone(),
        );
        registry.register(
            "herald_api_jobs_push_failed",
            "Publish jobs left to the sweeper because Redis failed or was slow",
            self.jobs_push_failed.clone(),
        );
        registry.register(
            "herald_api_rate_limited",
            "Requests refused by the per-key rate limit",
            self.rate_limited.clone(),
        );
        registry.register(
            "herald_api_auth_throttled",
            "Failed authentications answered 429 by the failure throttles, by surface \
             (api, dashboard) and limit (address, total)",
            self.auth_throttled.clone(),
        );
        registry.register(
            "herald_api_event_streams_refused",
            "Event streams refused because their key held api.max_event_streams_per_key",
            self.streams_refused.clone(),
        );
        registry.register(
            "herald_api_requests",
            "HTTP requests by method, route and status",
            self.requests.clone(),
        );
        registry.register(
            "herald_api_request_seconds",
            "Time spent answering, by method, route and status",
            self.request_seconds.clone(),
        );
    }
}

/// Middleware: counts every request by method, route pattern and status.
pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    state.inner.metrics.request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// What `api.metrics_addr` serves: `GET /metrics` (behind the token when one is set), and
/// problem documents for everything else.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .fallback(crate::error::not_found)
        .method_not_allowed_fallback(crate::error::method_not_allowed)
        .layer(middleware::from_fn(crate::security::headers_for_json))
        .layer(middleware::from_fn(crate::error::problem_only))
        .with_state(state)
}

/// Whether the request may read the metrics: any request when no token is configured,
/// else one that presents it as its bearer (compared in constant time).
fn authorized(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(token) = &state.inner.config.api.metrics_token else {
        return true;
    };
    crate::auth::bearer(headers).is_some_and(|presented| {
        bool::from(
            presented
                .as_bytes()
                .ct_eq(token.expose_secret().trim().as_bytes()),
        )
    })
}

/// `GET /metrics`.
pub(crate) async fn render(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !authorized(&state, &headers) {
        return ApiError::MetricsTokenRequired.into_response();
    }
    let mut registry = Registry::default();
    state.inner.metrics.register(&mut registry);
    let store = &state.inner.store;
    match store.deliveries().count_by_state_all_tenants().await {
        Ok(counts) => register_deliveries(&mut registry, &counts),
        Err(error) => tracing::warn!(%error, "metrics: cannot count the deliveries"),
    }
    match store.fleet().due_deliveries().await {
        Ok(due) => register_due(&mut registry, &due, Utc::now()),
        Err(error) => tracing::warn!(%error, "metrics: cannot count the due deliveries"),
    }
    match store.fleet().connection_health().await {
        Ok(health) => register_connections(&mut registry, &health),
        Err(error) => tracing::warn!(%error, "metrics: cannot count the connections"),
    }
    register_redis(&mut registry, &state).await;
    encode(&registry)
}

/// The queue depth and the live workers, from Redis (left out when it does not answer
/// within a second).
async fn register_redis(registry: &mut Registry, state: &AppState) {
    let queue = &state.inner.queue;
    let worker = &state.inner.config.worker;
    let alive_within = worker.heartbeat * u32::try_from(worker.missed_heartbeats).unwrap_or(1);
    let read = async { tokio::join!(queue.depth(), queue.alive_workers(alive_within)) };
    let Ok((depth, alive)) = tokio::time::timeout(Duration::from_secs(1), read).await else {
        tracing::warn!("metrics: Redis did not answer within a second");
        return;
    };
    match depth {
        Ok(depth) => {
            let jobs = Family::<QueueLabels, Gauge>::default();
            for (kind, count) in [("waiting", depth.waiting), ("scheduled", depth.scheduled)] {
                jobs.get_or_create(&QueueLabels { kind })
                    .set(i64::try_from(count).unwrap_or(i64::MAX));
            }
            registry.register("herald_queue_jobs", "Publish jobs in Redis by kind", jobs);
        }
        Err(error) => tracing::warn!(%error, "metrics: cannot read the queue depth"),
    }
    match alive {
        Ok(alive) => {
            let workers = Gauge::<i64>::default();
            workers.set(i64::try_from(alive).unwrap_or(i64::MAX));
            registry.register(
                "herald_workers_alive",
                "herald work processes whose heartbeat reached Redis within \
                 worker.heartbeat_secs x worker.missed_heartbeats",
                workers,
            );
        }
        Err(error) => tracing::warn!(%error, "metrics: cannot count the live workers"),
    }
}

fn register_deliveries(registry: &mut Registry, counts: &[DeliveryCount]) {
    let deliveries = Family::<DeliveryLabels, Gauge>::default();
    for c in counts {
        deliveries
            .get_or_create(&DeliveryLabels {
                platform: c.platform.as_str().to_owned(),
                state: c.state.as_str().to_owned(),
            })
            .set(c.count);
    }
    registry.register(
        "herald_deliveries",
        "Deliveries by platform and state (from Postgres)",
        deliveries,
    );
}

/// The due backlog of every platform, 0 where nothing waits, so each platform's series is
/// always there.
fn register_due(registry: &mut Registry, due: &[DueCount], now: DateTime<Utc>) {
    let count = Family::<PlatformLabels, Gauge>::default();
    let oldest = Family::<PlatformLabels, Gauge<f64, AtomicU64>>::default();
    for platform in Platform::ALL {
        let labels = PlatformLabels {
            platform: platform.as_str(),
        };
        let found = due.iter().find(|d| d.platform == platform);
        count
            .get_or_create(&labels)
            .set(found.map_or(0, |d| d.count));
        let age = found.map_or(0.0, |d| {
            (now - d.oldest_run_at).num_milliseconds().max(0) as f64 / 1000.0
        });
        oldest.get_or_create(&labels).set(age);
    }
    registry.register(
        "herald_deliveries_due",
        "Deliveries due and not running (scheduled, queued, retrying or rate_limited with \
         run_at passed), by platform (from Postgres)",
        count,
    );
    registry.register(
        "herald_deliveries_due_oldest_age_seconds",
        "How long the delivery due the longest has waited for a worker since its run_at, by \
         platform; 0 when none is due (from Postgres)",
        oldest,
    );
}

/// Connections by platform and token health, every pair present (0 where none).
fn register_connections(registry: &mut Registry, counts: &[HealthCount]) {
    let connections = Family::<HealthLabels, Gauge>::default();
    for platform in Platform::ALL {
        for health in TokenHealth::ALL {
            let count = counts
                .iter()
                .find(|c| c.platform == platform && c.health == health)
                .map_or(0, |c| c.count);
            connections
                .get_or_create(&HealthLabels {
                    platform: platform.as_str(),
                    health: health.as_str(),
                })
                .set(count);
        }
    }
    registry.register(
        "herald_connections",
        "Connections not disabled, by platform and token health: ok, expiring (a token Herald \
         cannot refresh expires within a day, or has expired) or needs_reconnect (from \
         Postgres)",
        connections,
    );
}

fn encode(registry: &Registry) -> Response {
    let mut body = String::new();
    if prometheus_client::encoding::text::encode(&mut body, registry).is_err() {
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
    use super::*;

    fn text(metrics: &Metrics) -> String {
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let mut body = String::new();
        prometheus_client::encoding::text::encode(&mut body, &registry).expect("encodes");
        body
    }

    #[test]
    fn counters_keep_their_names_and_requests_their_labels() {
        let metrics = Metrics::default();
        metrics.post_created();
        metrics.dispatched(3);
        metrics.request("POST", "/v1/posts", 202, Duration::from_millis(20));
        metrics.auth_throttled(Surface::Dashboard, Limit::Address);
        metrics.stream_refused();
        let body = text(&metrics);
        for line in [
            "herald_api_posts_created_total 1",
            "herald_api_jobs_pushed_total 3",
            "herald_api_jobs_push_failed_total 0",
            "herald_api_rate_limited_total 0",
            "herald_api_auth_throttled_total{surface=\"dashboard\",limit=\"address\"} 1",
            "herald_api_event_streams_refused_total 1",
            "herald_api_requests_total{method=\"POST\",route=\"/v1/posts\",status=\"202\"} 1",
            "herald_api_request_seconds_sum{method=\"POST\",route=\"/v1/posts\",status=\"202\"} 0.02",
        ] {
            assert!(body.lines().any(|l| l == line), "{line} in\n{body}");
        }
    }

    /// Route labels are patterns written in code, so none of these characters reaches one
    /// today; the escaping is checked anyway, so a label fed from elsewhere stays one line.
    #[test]
    fn label_values_are_escaped() {
        let metrics = Metrics::default();
        metrics.request("GET", "/a\"b\\c\nd", 404, Duration::ZERO);
        let body = text(&metrics);
        assert!(
            body.contains(
                r#"herald_api_requests_total{method="GET",route="/a\"b\\c\nd",status="404"} 1"#
            ),
            "{body}"
        );
    }

    #[test]
    fn delivery_gauges_carry_platform_and_state() {
        let mut registry = Registry::default();
        register_deliveries(
            &mut registry,
            &[DeliveryCount {
                platform: herald_domain::Platform::Telegram,
                state: herald_domain::DeliveryState::Queued,
                count: 2,
            }],
        );
        let mut body = String::new();
        prometheus_client::encoding::text::encode(&mut body, &registry).expect("encodes");
        assert!(
            body.contains("herald_deliveries{platform=\"telegram\",state=\"queued\"} 2"),
            "{body}"
        );
    }

    fn encoded(registry: &Registry) -> String {
        let mut body = String::new();
        prometheus_client::encoding::text::encode(&mut body, registry).expect("encodes");
        body
    }

    #[test]
    fn every_platform_has_a_due_backlog_and_its_oldest_age() {
        let now = Utc::now();
        let mut registry = Registry::default();
        register_due(
            &mut registry,
            &[DueCount {
                platform: Platform::Linkedin,
                count: 3,
                oldest_run_at: now - chrono::TimeDelta::milliseconds(90_500),
            }],
            now,
        );
        let body = encoded(&registry);
        for line in [
            "herald_deliveries_due{platform=\"linkedin\"} 3",
            "herald_deliveries_due{platform=\"telegram\"} 0",
            "herald_deliveries_due_oldest_age_seconds{platform=\"linkedin\"} 90.5",
            "herald_deliveries_due_oldest_age_seconds{platform=\"twitter\"} 0.0",
        ] {
            assert!(body.lines().any(|l| l == line), "{line} in\n{body}");
        }
    }

    #[test]
    fn connections_are_counted_by_platform_and_token_health() {
        let mut registry = Registry::default();
        register_connections(
            &mut registry,
            &[HealthCount {
                platform: Platform::Twitter,
                health: TokenHealth::Expiring,
                count: 2,
            }],
        );
        let body = encoded(&registry);
        for line in [
            "herald_connections{platform=\"twitter\",health=\"expiring\"} 2",
            "herald_connections{platform=\"twitter\",health=\"needs_reconnect\"} 0",
            "herald_connections{platform=\"threads\",health=\"ok\"} 0",
        ] {
            assert!(body.lines().any(|l| l == line), "{line} in\n{body}");
        }
    }
}
