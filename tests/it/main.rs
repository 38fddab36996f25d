//! Herald end to end, in one test binary: a module per area, so the workspace links once.
//! `cargo test -p herald-e2e --test it worker_recovery::` runs one module.

// The shared helpers (the crate's library) read as `support::...` in every module.
extern crate herald_e2e as support;

mod api;
mod chaos;
mod dashboard;
mod dashboard_browser;
mod dashboard_bulk;
mod dashboard_ops_browser;
mod dashboard_overview;
mod dashboard_sessions;
mod deploy_files;
mod media;
mod outages;
mod probes;
mod security;
mod telemetry_logs;
mod telemetry_traces;
mod worker_doubt;
mod worker_failures;
mod worker_group;
mod worker_lifecycle;
mod worker_limits;
mod worker_metrics;
mod worker_processes;
mod worker_publish;
mod worker_recovery;
