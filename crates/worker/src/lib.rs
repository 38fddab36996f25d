//! The publish pipeline, run by `herald work`: claim a delivery, make sure its token is
//! fresh, pass the rate gates, fetch and upload media, publish through the journal, record the
//! outcome; plus the sweeper that re-dispatches what Redis lost and resolves uncertain
//! publishes, and the webhook sender (docs/ARCHITECTURE.md).
//!
//! **The promise.** Every delivery ends in a final state, each post appears on its platform
//! at most once, no platform limit is exceeded, and none of that depends on Redis keeping
//! what it was given. The mechanisms, each in the module that owns it:
//!
//! - [`claim`]: the guarded claim and the lease (duplicate jobs are dropped; a lease is
//!   renewed while its delivery waits); `availability`: claims pause while Postgres is
//!   unreachable and resume by themselves.
//! - `tokens`: single-flight refresh across every worker.
//! - [`gates`]: the rate gates (Postgres windows, Redis GCRA and blocked-until, governor).
//! - `media`: SSRF-guarded fetching and validation.
//! - [`publish`]: the journal, resume and unknown outcomes.
//! - [`group`]: group commit: journal rows and outcomes written by one writer per process,
//!   claims taken in batches.
//! - [`retry`]: the retry schedule ([`jitter`] varies its waits); `outcome`: what each
//!   result does to the delivery.
//! - [`sweeper`]: one leader that re-dispatches, expires leases and resolves stale calls.
//! - [`webhooks`]: signs (Standard Webhooks) and sends tenants' events to their webhooks.
//! - [`runner`]: apalis wiring, concurrency and a graceful shutdown that ends in bounded time.

mod availability;
mod cache;
pub mod claim;
mod context;
mod doubt;
pub mod gates;
pub mod group;
pub mod jitter;
mod media;
pub mod metrics;
mod outcome;
mod pipeline;
pub mod publish;
pub mod retention;
pub mod retry;
pub mod runner;
mod settings;
pub mod sweeper;
mod tokens;
pub mod webhooks;

pub use context::Deps;
pub use group::GroupSettings;
pub use media::{MediaError, MediaFetcher};
pub use metrics::Metrics;
pub use retry::RetrySchedule;
pub use runner::{WorkerError, run};
pub use settings::{LimitSettings, MediaSettings, WorkerSettings, media_store, unique_name};
pub use webhooks::WebhookSettings;
