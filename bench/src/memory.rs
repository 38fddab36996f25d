//! `memory`: a worker's resident memory with many deliveries in flight.
//!
//! The worker runs as a child process (this binary's hidden `worker` subcommand), so its
//! memory is its own and not the simulator's or the bench's. `--posts` LinkedIn image
//! posts whose processing takes long (`--processing-ms`) are pushed; once `--posts`
//! deliveries are running at once, the child's `VmRSS` and `VmHWM` are read from
//! `/proc/PID/status`, with the idle figure from before the push. Prints
//! `{"scenario":"memory","in_flight":..,"idle_rss_mb":..,"rss_mb":..,"peak_rss_mb":..}`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use herald_sim::SimConfig;

use crate::setup::Bench;

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Args {
    /// How many deliveries in flight.
    #[arg(long, default_value_t = 1_000)]
    posts: usize,
    /// How long the simulator takes to process each image: longer than the measurement.
    #[arg(long, default_value_t = 120_000)]
    processing_ms: u64,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<serde_json::Value> {
    let mut sim = SimConfig::unlimited();
    sim.linkedin.image_processing_ms = args.processing_ms;
    let bench = Bench::start(sim).await?;
    let connection = bench.linkedin_connections(1).await?[0];
    let posts = (0..args.posts)
        .map(|n| (connection, bench.image(&format!("held post {n}"))))
        .collect();
    let ids = bench.posts(posts, None).await?;

    let child = Command::new(std::env::current_exe()?)
        .args(["worker", "--concurrency", &args.posts.to_string()])
        .envs(bench.child_env())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .context("starting the worker process")?;
    let mut child = Killed(child);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = status_kb(child.0.id(), "VmRSS")?;

    bench.push(&ids, Utc::now()).await?;
    let started = Instant::now();
    let target = i64::try_from(args.posts)?;
    loop {
        if let Some(status) = child.0.try_wait()? {
            bail!("the worker process exited early: {status}");
        }
        let running = bench.count("running").await?;
        // Every image uploaded: each delivery is in its processing wait.
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM delivery_steps WHERE step = 'media:0' AND state = 'done'",
        )
        .fetch_one(&bench.pool)
        .await?;
        if running >= target && waiting >= target {
            break;
        }
        if started.elapsed() > Duration::from_secs(300) {
            bail!("only {running} of {target} running (and {waiting} waiting) after 300 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rss = status_kb(child.0.id(), "VmRSS")?;
    let peak = status_kb(child.0.id(), "VmHWM")?;
    drop(child);
    let mb = |kb: u64| (kb as f64 / 1024.0).round();
    Ok(serde_json::json!({
        "scenario": "memory",
        "in_flight": args.posts,
        "idle_rss_mb": mb(idle),
        "rss_mb": mb(rss),
        "peak_rss_mb": mb(peak),
    }))
}

/// A line of `/proc/PID/status`, in kB.
fn status_kb(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("/proc/{pid}/status has no {field}"))
}

/// The child worker, killed when the measurement is done or fails.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
