//! `waits`: many deliveries each waiting a long time on the platform.
//!
//! `--posts` LinkedIn image posts, the simulator taking `--processing-ms` to process each
//! image (20 s by default), pushed due now to one in-process worker. Waits are async sleeps
//! inside their delivery's task, so the wall time is about one wait, not their sum. Prints
//! `{"scenario":"waits","posts":..,"processing_ms":..,"seconds":..,"concurrency":..}`.

use std::time::Duration;

use herald_sim::SimConfig;

use crate::setup::{Bench, round3};

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Args {
    /// How many image posts.
    #[arg(long, default_value_t = 1_000)]
    posts: usize,
    /// How long the simulator takes to process each image.
    #[arg(long, default_value_t = 20_000)]
    processing_ms: u64,
    /// Deliveries the worker runs at once.
    #[arg(long, default_value_t = 1_000)]
    concurrency: usize,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<serde_json::Value> {
    let mut sim = SimConfig::unlimited();
    sim.linkedin.image_processing_ms = args.processing_ms;
    let bench = Bench::start(sim).await?;
    let connection = bench.linkedin_connections(1).await?[0];
    let posts = (0..args.posts)
        .map(|n| (connection, bench.image(&format!("waiting post {n}"))))
        .collect();
    let ids = bench.posts(posts, None).await?;
    let seconds = bench
        .publish_all(&ids, args.concurrency, Duration::from_secs(900))
        .await?;
    Ok(serde_json::json!({
        "scenario": "waits",
        "posts": args.posts,
        "processing_ms": args.processing_ms,
        "concurrency": args.concurrency,
        "seconds": round3(seconds),
    }))
}
