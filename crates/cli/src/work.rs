//! `herald work`: a worker process. Loads everything the pipeline needs, then runs it (with
//! the sweeper and the webhook sender) until SIGTERM or Ctrl-C, and stops gracefully (see
//! `herald_worker::runner`). Prometheus
//! `/metrics` and `/healthz` are served on `worker.metrics_addr` while it runs.

use std::sync::Arc;

use anyhow::Context;
use herald_config::Config;
use herald_platforms::{HttpSettings, Platforms};
use herald_queue::{JobQueue, RedisKeys};
use herald_store::Store;
use herald_worker::{Deps, Metrics, WorkerSettings};
use secrecy::ExposeSecret;
use sqlx::postgres::PgPoolOptions;

pub(crate) async fn run(config: &Config) -> anyhow::Result<()> {
    let keyring = crate::encryption::keyring(config)?;
    let settings = WorkerSettings::from_config(config);
    // Every running delivery makes short queries, and a token refresh holds a connection
    // while it calls the platform: more connections than the API needs.
    let pool = PgPoolOptions::new()
        .max_connections(
            u32::try_from(settings.concurrency / 4)
                .unwrap_or(64)
                .clamp(16, 64),
        )
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect(config.database_url.expose_secret())
        .await
        .context("cannot connect to Postgres (DATABASE_URL)")?;
    let store = Store::new(pool, Arc::new(keyring));
    let http = HttpSettings {
        poll_interval: config.worker.platform_poll_interval,
        lookup_pages: config.worker.lookup_max_pages,
        lookup_time: config.worker.lookup_max_time,
        ..HttpSettings::default()
    };
    let platforms = Platforms::new(&config.platforms, &http)?;
    let queue = JobQueue::connect(
        config.redis_url.expose_secret(),
        RedisKeys::new(config.redis_prefix.clone()),
    )
    .await
    .context("cannot connect to Redis (REDIS_URL)")?;
    let (metrics, registry) = Metrics::standalone();
    let metrics_addr = config.worker.metrics_addr;
    let listener = tokio::net::TcpListener::bind(metrics_addr)
        .await
        .with_context(|| format!("cannot serve metrics on {metrics_addr} (worker.metrics_addr)"))?;
    let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
    let metrics_server = tokio::spawn(herald_worker::metrics::serve(registry, listener, async {
        let _ = metrics_stopped.await;
    }));
    tracing::info!(worker = %settings.name, concurrency = settings.concurrency, "herald work");
    let result = herald_worker::run(
        settings,
        Deps {
            store,
            platforms,
            queue,
            metrics,
        },
        crate::serve::shutdown_signal(),
    )
    .await;
    // Metrics stay up until the worker has stopped, so the last scrape sees the drain.
    let _ = stop_metrics.send(());
    let _ = metrics_server.await;
    result?;
    Ok(())
}
