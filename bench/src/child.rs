//! The hidden `worker` subcommand: a worker process of its own for the `memory` scenario,
//! configured by the environment the scenario hands it (`DATABASE_URL`, `REDIS_URL` and
//! the `HERALD_` variables pointing at its simulator and Redis prefix). Runs until killed.

use std::sync::Arc;

use anyhow::Context;
use herald_config::Config;
use herald_platforms::Platforms;
use herald_queue::{JobQueue, RedisKeys};
use herald_store::Store;
use herald_testkit::test_keyring;
use herald_worker::{Deps, Metrics};
use sqlx::postgres::PgPoolOptions;

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Args {
    /// Deliveries the worker runs at once.
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let vars: Vec<(String, String)> = std::env::vars()
        .filter(|(name, _)| name.starts_with("HERALD_"))
        .collect();
    let config = Config::load_from(None, vars)?;
    let database = std::env::var("DATABASE_URL").context("DATABASE_URL names the database")?;
    let redis = std::env::var("REDIS_URL").context("REDIS_URL names Redis")?;
    let prefix = std::env::var("HERALD_REDIS_PREFIX").context("HERALD_REDIS_PREFIX is set")?;
    let pool = PgPoolOptions::new()
        .max_connections(48)
        .connect(&database)
        .await?;
    let deps = Deps {
        store: Store::new(pool, Arc::new(test_keyring())),
        platforms: Platforms::new(&config.platforms, &crate::setup::http_settings())?,
        queue: JobQueue::connect(&redis, RedisKeys::new(&prefix)).await?,
        metrics: Metrics::standalone().0,
    };
    let settings = crate::setup::settings(&config, args.concurrency);
    herald_worker::run(settings, deps, std::future::pending()).await?;
    Ok(())
}
