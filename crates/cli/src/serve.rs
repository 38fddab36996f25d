//! `herald serve`: the API process.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use herald_config::Config;
use herald_platforms::{HttpSettings, Platforms};
use herald_store::Store;
use secrecy::ExposeSecret;

pub(crate) async fn run(config: &Config, addr: Option<SocketAddr>) -> anyhow::Result<()> {
    let pool = herald_store::connect_with(
        config.database_url.expose_secret(),
        herald_store::PoolSettings {
            acquire_timeout: config.database_acquire_timeout,
            ..herald_store::PoolSettings::default()
        },
    )
    .await
    .context("cannot connect to Postgres (DATABASE_URL)")?;
    let redis = herald_queue::connect(config.redis_url.expose_secret(), Default::default())
        .await
        .context("cannot connect to Redis (REDIS_URL)")?;
    let keyring = crate::encryption::keyring(config)?;
    let store = Store::new(pool, Arc::new(keyring));
    let platforms = Platforms::new(&config.platforms, &HttpSettings::default())
        .context("cannot build the platform clients")?;
    let state = herald_api::AppState::new(config.clone(), store, redis, platforms)
        .context("cannot start the API")?;
    let addr = addr.unwrap_or(config.api.addr);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    herald_api::serve(state, listener, shutdown_signal()).await?;
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM (what Kubernetes and docker send before killing).
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        // If the handler cannot be installed, never complete on this branch.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
