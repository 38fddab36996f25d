//! `herald`: the one binary. It parses arguments, loads the configuration and calls the
//! library crates; the logic lives there, so tests call the same functions.

// A command-line program speaks on stdout (results) and stderr (warnings).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod admin;
mod demo;
mod encryption;
mod serve;
mod sim;
mod telemetry;
mod work;

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use herald_config::Config;

#[derive(Debug, Parser)]
#[command(
    name = "herald",
    version,
    about = "Publish to social platforms, reliably."
)]
struct Cli {
    /// Configuration file, given before the command (default: ./herald.toml if present;
    /// also HERALD_CONFIG).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Herald end to end against the platform simulator: connect an account on every
    /// platform, publish a batch of posts, show what happened.
    Demo {
        /// Keep the simulator, API and worker running afterwards, to explore.
        #[arg(long)]
        keep_running: bool,
    },
    /// Create the database if it does not exist, then apply all migrations.
    Migrate,
    /// Serve the HTTP API.
    Serve {
        /// Listen address (default: api.addr, HERALD_API__ADDR).
        #[arg(long)]
        addr: Option<std::net::SocketAddr>,
    },
    /// Run a worker: publish queued deliveries and send webhooks until SIGTERM, then stop
    /// gracefully.
    Work,
    /// Run the platform simulator: X, LinkedIn, Facebook, Instagram, Threads and Telegram on
    /// one port, for development, tests and the demo.
    Sim {
        #[arg(long, default_value = "127.0.0.1:9400")]
        addr: std::net::SocketAddr,
        /// Simulator configuration (TOML; see crates/sim/README.md). Default: the standard
        /// fixtures and realistic limits.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Manage tenants.
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// Manage API keys and encryption keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print the API's OpenAPI 3.1 description (what `/openapi.json` serves) as JSON; the
    /// clients under clients/ are generated from it. Needs no configuration.
    Openapi,
}

#[derive(Debug, Subcommand)]
enum TenantsCommand {
    /// Create a tenant and its first API key (scopes publish,read). Prints
    /// {"tenant_id": ..., "api_key": ...}; the key is shown only this once.
    Create {
        /// The tenant's name, unique.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create another API key for a tenant. Prints {"tenant_id": ..., "api_key": ...}.
    Create {
        #[arg(long, value_name = "TENANT_ID")]
        tenant: String,
        /// Comma-separated: publish, read, admin.
        #[arg(long, default_value = "publish,read")]
        scopes: String,
    },
    /// Print a new encryption key in the format HERALD_ENCRYPTION_KEYS accepts.
    GenEncryption,
    /// Re-seal every stored secret with the newest key in HERALD_ENCRYPTION_KEYS. Safe to
    /// interrupt and run again.
    RotateEncryption,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration with every secret redacted; exit non-zero if it is
    /// invalid.
    Check,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Commands that need no configuration.
    if let Command::Keys(KeysCommand::GenEncryption) = cli.command {
        println!("{}", herald_store::Keyring::generate_entry());
        return ExitCode::SUCCESS;
    }
    if let Command::Openapi = cli.command {
        return print_openapi();
    }
    if let Command::Sim { addr, config } = cli.command {
        return finish(block_on(sim::run(addr, config.as_deref())));
    }
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("herald: {err}");
            return ExitCode::from(2);
        }
    };
    if let Command::Config(ConfigCommand::Check) = cli.command {
        return admin::config_check(&config);
    }
    let service = match cli.command {
        Command::Serve { .. } => "herald-api",
        Command::Work => "herald-worker",
        _ => "herald",
    };
    let _telemetry = telemetry::init(&config.log, service);
    finish(block_on(run(cli.command, config, cli.config)))
}

/// `herald openapi`: the document `/openapi.json` serves, pretty-printed, newline-ended.
fn print_openapi() -> ExitCode {
    match herald_api::openapi::document_json() {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("herald: cannot render the OpenAPI description: {err}");
            ExitCode::FAILURE
        }
    }
}

/// How long the runtime waits, once the command is done, for tasks it still holds.
const RUNTIME_SHUTDOWN: Duration = Duration::from_millis(500);

/// Runs the command on a multi-threaded runtime. Once it returns, tasks still running (an
/// abandoned delivery, a blocking DNS lookup) get [`RUNTIME_SHUTDOWN`] and are then left
/// behind, so the process exits in bounded time (dropping the runtime instead would wait
/// for blocking tasks however long they take).
fn block_on(command: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| anyhow::anyhow!("cannot start the async runtime: {err}"))?;
    let result = runtime.block_on(command);
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    result
}

fn finish(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("herald: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config, file: Option<PathBuf>) -> anyhow::Result<()> {
    match command {
        Command::Demo { keep_running } => demo::run(&config, file.as_deref(), keep_running).await,
        Command::Migrate => admin::migrate(&config).await,
        Command::Serve { addr } => serve::run(&config, addr).await,
        Command::Work => work::run(&config).await,
        Command::Tenants(TenantsCommand::Create { name }) => {
            admin::create_tenant(&config, &name).await
        }
        Command::Keys(KeysCommand::Create { tenant, scopes }) => {
            admin::create_key(&config, &tenant, &scopes).await
        }
        Command::Keys(KeysCommand::RotateEncryption) => admin::rotate_encryption(&config).await,
        Command::Keys(KeysCommand::GenEncryption)
        | Command::Config(ConfigCommand::Check)
        | Command::Openapi
        | Command::Sim { .. } => {
            unreachable!("handled before the runtime starts")
        }
    }
}
