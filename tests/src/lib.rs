//! What Herald's end-to-end tests share. The tests themselves are one binary, `it/main.rs`,
//! a module per area (`cargo test -p herald-e2e --test it worker_recovery::` runs one): each
//! starts the real components (API, worker, simulator) in-process on port 0 against real
//! Postgres and Redis, the way an operator runs them, and asserts what a producer or an
//! operator would see.
//!
//! - [`app`]: the API as an operator runs it ([`app::TestApp`]), for tests that go through
//!   HTTP the way a producer does;
//! - [`harness`]: the worker's [`harness::Harness`], which makes connections and posts
//!   through the store and runs workers in-process;
//! - [`process`]: the `herald` binary ([`process::herald_binary`], built once), child
//!   processes that cannot outlive their test ([`process::KillOnDrop`]), and a test run in a
//!   process of its own ([`process::run_alone`]);
//! - [`proxy`]: a TCP proxy in front of Postgres or Redis that a test cuts off and brings
//!   back ([`proxy::TcpProxy`]);
//! - [`eventually`]: bounded polling, the one way a test waits for something to happen;
//! - [`serial`]: the serial group.
//!
//! # Process-wide state
//!
//! The tests share one process, so none of them sets process-wide state (environment
//! variables, the global tracing subscriber) in it. `telemetry_logs` needs the global
//! subscriber to see every log line of a run, so it runs itself again in a process of its own
//! ([`process::run_alone`]). `telemetry_traces` reads what `herald serve` and `herald work`
//! export, and runs them as child processes.
//!
//! # The serial group
//!
//! The binary's tests run in parallel (one per core). A few would make their neighbours, or
//! themselves, fail by timing rather than by a bug, so each takes [`serial`] first and they
//! run one at a time (alongside the light tests, never alongside each other):
//!
//! - `worker_recovery::*`: kill a `herald work` process mid-publish, and empty Redis mid-run;
//!   each needs its in-flight window to fall where it asserts it does;
//! - `worker_lifecycle::a_stopping_worker_hands_back_unfinished_deliveries_and_another_publishes_them_once`:
//!   stops a worker mid-run and expects it to have been mid-run;
//! - `worker_limits::*`: three workers against one X window, and 200 slow image posts that
//!   must finish in under 10 s: both measure time, and the second loads the machine;
//! - `telemetry_traces::*` and `worker_metrics::herald_work_serves_metrics_on_its_configured_address`:
//!   start `herald serve` / `herald work` as processes (a second copy of everything);
//! - `dashboard_browser::*`: headless Chromium, the heaviest process of the suite;
//! - `security::surface::docs_render_offline_in_a_browser_under_their_policy`: headless
//!   Chromium too, rendering `/docs`;
//! - `api::posts::a_post_is_still_accepted_while_redis_is_down_and_waits_in_postgres`: cuts
//!   the API's Redis and times how promptly a post is still accepted;
//! - `outages::*`: cut Postgres off under `herald serve` and `herald work` processes (and
//!   time every answer meanwhile), cut Redis off under the API, and starve the sweeper's
//!   lookups while timing re-dispatches;
//! - `worker_processes::*`: SIGTERM to a `herald work` holding hundreds of publishes (timing
//!   its exit), and two `herald work` processes side by side.

pub mod app;
pub mod browser;
pub mod harness;
pub mod process;
pub mod proxy;

use std::future::Future;
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};

static SERIAL: Mutex<()> = Mutex::const_new(());

/// Waits for the serial group's turn; the test holds the guard to its end
/// (`let _serial = support::serial().await;`). A test that panics releases it too.
pub async fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().await
}

/// Polls `check` every 50 ms until it answers `Some`, for at most `within`.
pub async fn eventually<T, F, Fut>(within: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(found) = check().await {
            return Some(found);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
