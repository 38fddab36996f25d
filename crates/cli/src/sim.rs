//! `herald sim`: the platform simulator as a process of its own. It needs none of Herald's
//! configuration: it is "the platforms".

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use herald_config::{LogConfig, LogFormat};
use herald_sim::SimConfig;

pub(crate) async fn run(addr: SocketAddr, config: Option<&Path>) -> anyhow::Result<()> {
    let _telemetry = crate::telemetry::init(
        &LogConfig {
            format: LogFormat::Pretty,
            filter: std::env::var("HERALD_LOG").unwrap_or_else(|_| "info".to_owned()),
        },
        "herald-sim",
    );
    let config = match config {
        Some(path) => SimConfig::from_toml_file(path)
            .with_context(|| format!("cannot use simulator configuration {}", path.display()))?,
        None => SimConfig::default(),
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let url = format!("http://{}", listener.local_addr().unwrap_or(addr));
    eprintln!(
        "herald sim: serving X, LinkedIn, Facebook, Instagram, Threads and Telegram at {url}\n\
         point Herald at it with HERALD_PLATFORM_BASE_URL={url}; fixtures: {url}/_sim/fixtures"
    );
    herald_sim::run(config, listener, crate::serve::shutdown_signal())
        .await
        .context("the simulator stopped")
}
