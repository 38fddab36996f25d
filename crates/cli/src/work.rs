//! `herald work`: a worker process. Loads everything the pipeline needs, then runs it (with
//! the sweeper and the webhook sender) until SIGTERM or Ctrl-C, and stops gracefully (see
//! `herald_worker::runner`). Prometheus
//! `/metrics` and `/healthz` are served on `worker.metrics_addr` while it runs, or on a free
//! port of the same address when another worker on the host has that port (logged).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use herald_config::Config;
use herald_platforms::{HttpSettings, Platforms};
use herald_queue::{JobQueue, RedisKeys};
use herald_store::{PoolSettings, Store};
use herald_worker::{Deps, Metrics, WorkerSettings};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

pub(crate) async fn run(config: &Config) -> anyhow::Result<()> {
    let keyring = crate::encryption::keyring(config)?;
    let settings = WorkerSettings::from_config(config);
    herald_worker::media_store(config)
        .context("cannot reach the media store (media.store, media.s3)")?;
    // Every running delivery makes short queries, and a token refresh holds a connection
    // while it calls the platform: more connections than the API needs.
    let pool = herald_store::connect_with(
        config.database_url.expose_secret(),
        PoolSettings {
            max_connections: u32::try_from(settings.concurrency / 4)
                .unwrap_or(64)
                .clamp(16, 64),
            acquire_timeout: config.database_acquire_timeout,
            ..PoolSettings::default()
        },
    )
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
    let listener = metrics_listener(config.worker.metrics_addr).await?;
    let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
    let mut metrics_server =
        tokio::spawn(herald_worker::metrics::serve(registry, listener, async {
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
    // Metrics stay up until the worker has stopped, so the last scrape sees the drain; a
    // scrape still open then is not waited for.
    let _ = stop_metrics.send(());
    if tokio::time::timeout(METRICS_DRAIN, &mut metrics_server)
        .await
        .is_err()
    {
        metrics_server.abort();
    }
    result?;
    Ok(())
}

/// How long a stopping worker lets a scrape in progress finish.
const METRICS_DRAIN: Duration = Duration::from_millis(500);

/// The metrics listener on `addr`; when its port is taken (another `herald work` on this
/// host), a free port of the same address instead, said loudly so it can be found.
async fn metrics_listener(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    match TcpListener::bind(addr).await {
        Ok(listener) => Ok(listener),
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse && addr.port() != 0 => {
            let fallback = SocketAddr::new(addr.ip(), 0);
            let listener = TcpListener::bind(fallback).await.with_context(|| {
                format!(
                    "cannot serve metrics on {addr} (taken) nor on a free port of {}",
                    addr.ip()
                )
            })?;
            let chosen = listener
                .local_addr()
                .map_or_else(|_| fallback.to_string(), |a| a.to_string());
            tracing::warn!(
                configured = %addr,
                metrics_addr = %chosen,
                "worker.metrics_addr is taken (another worker on this host?): serving metrics on {chosen} instead"
            );
            Ok(listener)
        }
        Err(err) => Err(err)
            .with_context(|| format!("cannot serve metrics on {addr} (worker.metrics_addr)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_taken_metrics_port_falls_back_to_a_free_one_of_the_same_address() {
        let first = metrics_listener("127.0.0.1:0".parse().expect("an address"))
            .await
            .expect("a free port");
        let taken = first.local_addr().expect("bound");
        let second = metrics_listener(taken).await.expect("falls back");
        let chosen = second.local_addr().expect("bound");
        assert_eq!(chosen.ip(), taken.ip());
        assert_ne!(chosen.port(), taken.port());
    }

    #[tokio::test]
    async fn an_address_that_cannot_be_bound_at_all_is_an_error_naming_it() {
        // 192.0.2.1 (TEST-NET-1) is on no interface of this machine.
        let err = metrics_listener("192.0.2.1:9464".parse().expect("an address"))
            .await
            .expect_err("cannot bind");
        assert!(err.to_string().contains("192.0.2.1:9464"), "{err}");
    }
}
