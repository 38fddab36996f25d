//! `/metrics` in the Prometheus text format.
//!
//! Two kinds of numbers: counters this process keeps (requests by route and status, posts
//! accepted, jobs pushed or left to the sweeper, rate-limited requests), and gauges read
//! from the store of record when scraped (deliveries by platform and state, and the queue
//! depth from Redis), so every API instance reports the same truth about the fleet.
//! Route labels are the route *patterns* (`/v1/posts/{id}`), never raw paths, so label
//! cardinality stays bounded whatever clients send.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// (method, route, status) -> (count, seconds).
type RequestCounts = BTreeMap<(String, String, u16), (u64, f64)>;

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    requests: Mutex<RequestCounts>,
    posts_created: AtomicU64,
    jobs_pushed: AtomicU64,
    jobs_push_failed: AtomicU64,
    rate_limited: AtomicU64,
    webhooks_sent: AtomicU64,
    webhooks_failed: AtomicU64,
}

impl Metrics {
    pub(crate) fn post_created(&self) {
        self.posts_created.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn dispatched(&self, count: usize) {
        self.jobs_pushed.fetch_add(count as u64, Ordering::Relaxed);
    }

    pub(crate) fn dispatch_failed(&self, count: usize) {
        self.jobs_push_failed
            .fetch_add(count as u64, Ordering::Relaxed);
    }

    pub(crate) fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn webhook_attempt(&self, delivered: bool) {
        let counter = if delivered {
            &self.webhooks_sent
        } else {
            &self.webhooks_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        if let Ok(mut requests) = self.requests.lock() {
            let entry = requests
                .entry((method.to_owned(), route.to_owned(), status))
                .or_default();
            entry.0 += 1;
            entry.1 += elapsed.as_secs_f64();
        }
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

/// `GET /metrics`.
pub(crate) async fn render(State(state): State<AppState>) -> Response {
    let metrics = &state.inner.metrics;
    let mut out = String::new();
    counter(
        &mut out,
        "herald_api_posts_created_total",
        "Posts accepted by POST /v1/posts.",
        metrics.posts_created.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "herald_api_jobs_pushed_total",
        "Publish jobs pushed to Redis after commit.",
        metrics.jobs_pushed.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "herald_api_jobs_push_failed_total",
        "Publish jobs left to the sweeper because Redis failed or was slow.",
        metrics.jobs_push_failed.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "herald_api_rate_limited_total",
        "Requests refused by the per-key rate limit.",
        metrics.rate_limited.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "herald_api_webhooks_delivered_total",
        "Webhook requests answered 2xx.",
        metrics.webhooks_sent.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "herald_api_webhooks_failed_attempts_total",
        "Webhook requests that failed (retried or given up).",
        metrics.webhooks_failed.load(Ordering::Relaxed),
    );
    if let Ok(requests) = metrics.requests.lock() {
        out.push_str(
            "# HELP herald_api_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE herald_api_requests_total counter\n");
        for ((method, route, status), (count, _)) in requests.iter() {
            let _ = writeln!(
                out,
                "herald_api_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                escape(route)
            );
        }
        out.push_str(
            "# HELP herald_api_request_seconds_sum Time spent answering, by method, route and status.\n",
        );
        out.push_str("# TYPE herald_api_request_seconds_sum counter\n");
        for ((method, route, status), (_, seconds)) in requests.iter() {
            let _ = writeln!(
                out,
                "herald_api_request_seconds_sum{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {seconds}",
                escape(route)
            );
        }
    }
    deliveries(&state, &mut out).await;
    if let Ok(Ok(depth)) =
        tokio::time::timeout(Duration::from_secs(1), state.inner.queue.depth()).await
    {
        out.push_str("# HELP herald_queue_jobs Publish jobs in Redis by kind.\n");
        out.push_str("# TYPE herald_queue_jobs gauge\n");
        let _ = writeln!(
            out,
            "herald_queue_jobs{{kind=\"waiting\"}} {}",
            depth.waiting
        );
        let _ = writeln!(
            out,
            "herald_queue_jobs{{kind=\"scheduled\"}} {}",
            depth.scheduled
        );
    }
    let mut response = out.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

async fn deliveries(state: &AppState, out: &mut String) {
    let rows: Result<Vec<(String, String, i64)>, _> = sqlx::query_as(
        "SELECT platform, state, count(*) FROM deliveries GROUP BY platform, state ORDER BY 1, 2",
    )
    .fetch_all(state.inner.store.pool())
    .await;
    let Ok(rows) = rows else {
        return;
    };
    out.push_str("# HELP herald_deliveries Deliveries by platform and state (from Postgres).\n");
    out.push_str("# TYPE herald_deliveries gauge\n");
    for (platform, delivery_state, count) in rows {
        let _ = writeln!(
            out,
            "herald_deliveries{{platform=\"{platform}\",state=\"{delivery_state}\"}} {count}"
        );
    }
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
    );
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"")
}
