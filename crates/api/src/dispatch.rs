//! Handing committed deliveries to the workers.
//!
//! Postgres is the truth and Redis the transport (docs/ARCHITECTURE.md): a handler commits its
//! deliveries first and only then pushes their ids to Redis. If Redis is down or slow, the
//! push is abandoned after a short time limit, logged and counted, and the request still
//! succeeds: the worker's sweeper finds due deliveries that are not in flight in Postgres
//! and dispatches them. A push can therefore never lose a delivery, only delay it.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_domain::{DeliveryId, PublishJob};

use crate::AppState;

/// How long a request waits for Redis before leaving the delivery to the sweeper.
const PUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// Pushes one job per delivery, each to run at its `run_at`. Never fails the caller.
pub(crate) async fn push(state: &AppState, deliveries: &[(DeliveryId, DateTime<Utc>)]) {
    if deliveries.is_empty() {
        return;
    }
    let trace = trace_context();
    let jobs: Vec<(PublishJob, DateTime<Utc>)> = deliveries
        .iter()
        .map(|(id, run_at)| {
            let mut job = PublishJob::new(*id);
            job.trace.clone_from(&trace);
            (job, *run_at)
        })
        .collect();
    match tokio::time::timeout(PUSH_TIMEOUT, state.inner.queue.push_many(&jobs)).await {
        Ok(Ok(())) => state.inner.metrics.dispatched(jobs.len()),
        Ok(Err(error)) => {
            state.inner.metrics.dispatch_failed(jobs.len());
            tracing::warn!(%error, count = jobs.len(),
                "could not push jobs to Redis; the sweeper will dispatch them from Postgres");
        }
        Err(_) => {
            state.inner.metrics.dispatch_failed(jobs.len());
            tracing::warn!(
                count = jobs.len(),
                "Redis did not answer in time; the sweeper will dispatch the jobs from Postgres"
            );
        }
    }
}

/// The current span's W3C trace context (`traceparent`, `tracestate`), for the worker to
/// continue the request's trace. Empty unless OTLP export is on.
fn trace_context() -> BTreeMap<String, String> {
    struct Fields<'a>(&'a mut BTreeMap<String, String>);
    impl opentelemetry::propagation::Injector for Fields<'_> {
        fn set(&mut self, key: &str, value: String) {
            self.0.insert(key.to_owned(), value);
        }
    }
    let context = tracing_opentelemetry::OpenTelemetrySpanExt::context(&tracing::Span::current());
    let mut trace = BTreeMap::new();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut Fields(&mut trace));
    });
    trace
}
