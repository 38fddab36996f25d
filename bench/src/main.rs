//! `herald-bench`: what one worker does under load, against the simulator.
//!
//! Each scenario starts the simulator (rate limits off) on port 0, creates a scratch
//! database and a Redis prefix (as the tests do; `DATABASE_URL`'s server and `REDIS_URL`),
//! connects LinkedIn accounts through the simulator's OAuth, and prints ONE JSON line:
//!
//! - `throughput` (the default): deliveries per second of one worker (`throughput.rs`);
//! - `burst`: lateness of 10,000 deliveries across 1,000 connections due in one second
//!   (`burst.rs`);
//! - `waits`: wall time of 1,000 LinkedIn image posts whose processing takes 20 s
//!   (`waits.rs`);
//! - `memory`: a worker process' resident memory with 1,000 deliveries in flight
//!   (`memory.rs`);
//! - `enqueue`: the API's side, `POST /v1/posts` from many client connections with no
//!   worker: posts per second, p50 and p99 (`enqueue.rs`).
//!
//! Run: `cargo run --release -p herald-bench -- --posts 4000` (throughput), or
//! `cargo run --release -p herald-bench -- burst`.

// A measuring program speaks on stdout.
#![allow(clippy::print_stdout)]

use clap::{Parser, Subcommand};

mod burst;
mod child;
mod enqueue;
mod memory;
mod setup;
mod throughput;
mod waits;

#[derive(Debug, Parser)]
#[command(
    about = "Measure one worker against the simulator",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    scenario: Option<Scenario>,
    /// Without a scenario: `throughput` with these arguments.
    #[command(flatten)]
    throughput: throughput::Args,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Deliveries per second of one worker.
    Throughput(throughput::Args),
    /// Lateness of a burst of deliveries due in the same second.
    Burst(burst::Args),
    /// Wall time of many deliveries waiting on slow image processing.
    Waits(waits::Args),
    /// A worker process' memory with many deliveries in flight.
    Memory(memory::Args),
    /// Posts per second the API accepts from many client connections.
    Enqueue(enqueue::Args),
    /// A worker process for `memory` (not a scenario).
    #[command(hide = true)]
    Worker(child::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let figures = match cli.scenario.unwrap_or(Scenario::Throughput(cli.throughput)) {
        Scenario::Throughput(args) => Box::pin(throughput::run(args)).await?,
        Scenario::Burst(args) => Box::pin(burst::run(args)).await?,
        Scenario::Waits(args) => Box::pin(waits::run(args)).await?,
        Scenario::Memory(args) => Box::pin(memory::run(args)).await?,
        // It prints its own line.
        Scenario::Enqueue(args) => return Box::pin(enqueue::run(args)).await,
        Scenario::Worker(args) => return Box::pin(child::run(args)).await,
    };
    println!("{figures}");
    Ok(())
}
