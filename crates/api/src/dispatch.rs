//! Handing committed deliveries to the workers.
//!
//! Postgres is the truth and Redis the transport (docs/ARCHITECTURE.md): a handler commits its
//! deliveries first and only then pushes their ids to Redis. If Redis is down or slow, the
//! push is abandoned after a short time limit, logged and counted, and the request still
//! succeeds: the worker's sweeper finds due deliveries that are not in flight in Postgres
//! and dispatches them. A push can therefore never lose a delivery, only delay it.
//!
//! `POST /v1/posts` pushes the jobs of a whole group commit at once ([`Dispatcher::push`],
//! from `posts::writer`): one Redis call for every post of the batch.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_domain::{DeliveryId, PublishJob};
use herald_queue::JobQueue;

use crate::AppState;
use crate::metrics::Metrics;

/// How long a request waits for Redis before leaving the delivery to the sweeper.
const PUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// Pushes one job per delivery, each to run at its `run_at`, with the current request's
/// trace context. Never fails the caller.
pub(crate) async fn push(state: &AppState, deliveries: &[(DeliveryId, DateTime<Utc>)]) {
    let trace = trace_context();
    let jobs: Vec<_> = deliveries
        .iter()
        .map(|(id, run_at)| (*id, *run_at, trace.clone()))
        .collect();
    state.inner.dispatcher.push(&jobs).await;
}

/// Pushes jobs to Redis for this process: the queue and the counters of what it pushed.
#[derive(Debug, Clone)]
pub(crate) struct Dispatcher {
    pub(crate) queue: JobQueue,
    pub(crate) metrics: Metrics,
}

impl Dispatcher {
    /// Pushes one job per delivery, each to run at its `run_at` and carrying the trace
    /// context of the request that made it, all in one Redis call (one script: the whole
    /// batch of a group commit costs one round trip). Never fails the caller.
    pub(crate) async fn push(&self, deliveries: &[(DeliveryId, DateTime<Utc>, Trace)]) {
        if deliveries.is_empty() {
            return;
        }
        let jobs: Vec<(PublishJob, DateTime<Utc>)> = deliveries
            .iter()
            .map(|(id, run_at, trace)| {
                let mut job = PublishJob::new(*id);
                job.trace.clone_from(trace);
                (job, *run_at)
            })
            .collect();
        match tokio::time::timeout(PUSH_TIMEOUT, self.queue.push_many(&jobs)).await {
            Ok(Ok(())) => self.metrics.dispatched(jobs.len()),
            Ok(Err(error)) => {
                self.metrics.dispatch_failed(jobs.len());
                tracing::warn!(%error, count = jobs.len(),
                    "could not push jobs to Redis; the sweeper will dispatch them from Postgres");
            }
            Err(_) => {
                self.metrics.dispatch_failed(jobs.len());
                tracing::warn!(
                    count = jobs.len(),
                    "Redis did not answer in time; the sweeper will dispatch the jobs from Postgres"
                );
            }
        }
    }
}

/// A W3C trace context (`traceparent`, `tracestate`), as a job carries it.
pub(crate) type Trace = BTreeMap<String, String>;

/// The current span's W3C trace context (`traceparent`, `tracestate`), for the worker to
/// continue the request's trace. Empty unless OTLP export is on.
pub(crate) fn trace_context() -> Trace {
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
