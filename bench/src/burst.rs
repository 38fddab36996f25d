//! `burst`: many scheduled deliveries falling due in the same second.
//!
//! `--connections` LinkedIn connections share `--deliveries` text posts, all scheduled for
//! one whole second a few seconds ahead (the simulator's rate limits off). The jobs are in
//! Redis' scheduled set before that second, as the API leaves them; one in-process worker
//! runs meanwhile. Lateness is when a delivery was claimed (its `running` event, by
//! Postgres' clock) minus when it was due. Prints `{"scenario":"burst","deliveries":..,
//! "lateness_p50_ms":..,"lateness_p99_ms":..,"lateness_max_ms":..,"seconds":..}`, `seconds`
//! running from the due second until the last was published.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use herald_sim::SimConfig;

use crate::setup::{Bench, percentile, round3, text};

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Args {
    /// How many deliveries fall due at once.
    #[arg(long, default_value_t = 10_000)]
    deliveries: usize,
    /// Over how many connections they are spread.
    #[arg(long, default_value_t = 1_000)]
    connections: usize,
    /// Deliveries the worker runs at once.
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<serde_json::Value> {
    let bench = Bench::start(SimConfig::unlimited()).await?;
    let connections = bench.linkedin_connections(args.connections.max(1)).await?;
    let posts = (0..args.deliveries)
        .map(|n| {
            let connection = connections[n % connections.len()];
            (connection, text(format!("burst post {n}")))
        })
        .collect();
    // Scheduled far ahead while they are inserted, then all moved to one second.
    let ids = bench
        .posts(posts, Some(Utc::now() + TimeDelta::hours(1)))
        .await?;
    let worker = bench.spawn_worker(bench.settings(args.concurrency));
    let due: DateTime<Utc> =
        (Utc::now() + TimeDelta::seconds(4)).duration_trunc(TimeDelta::seconds(1))?;
    sqlx::query("UPDATE deliveries SET run_at = $1")
        .bind(due)
        .execute(&bench.pool)
        .await?;
    bench.push(&ids, due).await?;
    let wait = (due - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait).await;
    let started = Instant::now();
    bench
        .until_published(ids.len(), Duration::from_secs(600))
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    worker.stop().await;

    let mut lateness: Vec<f64> = sqlx::query_scalar(
        "SELECT (extract(epoch FROM e.at - d.run_at) * 1000)::float8
         FROM deliveries d
         JOIN LATERAL (SELECT min(at) AS at FROM delivery_events
                       WHERE delivery_id = d.id AND to_state = 'running') e ON true",
    )
    .fetch_all(&bench.pool)
    .await
    .context("reading when each delivery was claimed")?;
    lateness.sort_by(f64::total_cmp);
    Ok(serde_json::json!({
        "scenario": "burst",
        "deliveries": args.deliveries,
        "connections": connections.len(),
        "concurrency": args.concurrency,
        "lateness_p50_ms": percentile(&lateness, 50.0).round(),
        "lateness_p99_ms": percentile(&lateness, 99.0).round(),
        "lateness_max_ms": percentile(&lateness, 100.0).round(),
        "seconds": round3(seconds),
    }))
}
