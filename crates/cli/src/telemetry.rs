//! Logging: readable lines in development, JSON in production, both on stderr so stdout
//! carries only command results.

use std::io::IsTerminal;

use herald_config::{LogConfig, LogFormat};
use tracing_subscriber::EnvFilter;

pub(crate) fn init(config: &LogConfig) {
    let filter = EnvFilter::try_new(&config.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // A second init (tests, embedding) keeps the first subscriber.
    let _ = match config.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
