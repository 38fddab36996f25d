//! `throughput`: how many deliveries per second one worker publishes.
//!
//! One LinkedIn connection, `--posts` text posts inserted through the store, their jobs
//! pushed due now, and one in-process worker running until every delivery is published.
//! Prints `{"scenario":"throughput","posts":..,"seconds":..,"deliveries_per_second":..,
//! "concurrency":..}`.

use std::time::Duration;

use herald_sim::SimConfig;

use crate::setup::{Bench, text};

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Args {
    /// How many posts to publish.
    #[arg(long, default_value_t = 2000)]
    pub(crate) posts: usize,
    /// Deliveries the worker runs at once.
    #[arg(long, default_value_t = 256)]
    pub(crate) concurrency: usize,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<serde_json::Value> {
    let bench = Bench::start(SimConfig::unlimited()).await?;
    let connection = bench.linkedin_connections(1).await?[0];
    let posts = (0..args.posts)
        .map(|n| (connection, text(format!("benchmark post {n}"))))
        .collect();
    let ids = bench.posts(posts, None).await?;
    let seconds = bench
        .publish_all(&ids, args.concurrency, Duration::from_secs(600))
        .await?;
    Ok(serde_json::json!({
        "scenario": "throughput",
        "posts": args.posts,
        "seconds": crate::setup::round3(seconds),
        "deliveries_per_second": (args.posts as f64 / seconds).round(),
        "concurrency": args.concurrency,
    }))
}
