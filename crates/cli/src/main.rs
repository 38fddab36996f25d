//! `herald`: the one binary. It parses arguments, loads the configuration and calls the
//! library crates; the logic lives there, so tests call the same functions.

// A command-line program speaks on stdout (results) and stderr (warnings).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod admin;
mod client;
mod demo;
mod encryption;
mod output;
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
    /// Configuration file, before or after the command (default: ./herald.toml if present;
    /// also HERALD_CONFIG).
    #[arg(long, value_name = "FILE", global = true)]
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
        /// fixtures and realistic limits. (Herald's own --config does not apply: the
        /// simulator reads none of Herald's configuration.)
        #[arg(long, value_name = "FILE")]
        sim_config: Option<PathBuf>,
    },
    /// Manage tenants.
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// Manage API keys and encryption keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Create, show and list posts through the API, as a producer (needs an API key).
    #[command(subcommand)]
    Posts(PostsCommand),
    /// List deliveries through the API (needs an API key).
    #[command(subcommand)]
    Deliveries(DeliveriesCommand),
    /// List connected accounts through the API (needs an API key).
    #[command(subcommand)]
    Connections(ConnectionsCommand),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print the API's OpenAPI 3.1 description (what `/openapi.json` serves) as JSON; the
    /// clients under clients/ are generated from it. Needs no configuration.
    Openapi,
}

#[derive(Debug, Subcommand)]
enum TenantsCommand {
    /// Create a tenant with two API keys: `api_key` (publish, read) for producers and
    /// `admin_key` (publish, read, admin) for connecting accounts and managing keys and
    /// webhooks. The keys are shown only this once.
    Create {
        /// The tenant's name, unique.
        name: String,
        #[command(flatten)]
        format: output::Format,
    },
    /// List the tenants.
    List {
        #[command(flatten)]
        format: output::Format,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create another API key for a tenant; it is shown only this once.
    Create {
        #[arg(long, value_name = "TENANT_ID")]
        tenant: String,
        /// Comma-separated: publish, read, admin.
        #[arg(long, default_value = "publish,read")]
        scopes: String,
        /// What the key is called (1 to 200 characters), e.g. who holds it: `ops-alice`.
        /// The dashboard shows it and attributes the key's actions to it.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        format: output::Format,
    },
    /// List a tenant's API keys, revoked ones included (never the keys themselves).
    List {
        #[arg(long, value_name = "TENANT_ID")]
        tenant: String,
        #[command(flatten)]
        format: output::Format,
    },
    /// Revoke an API key: the API refuses it from then on.
    Revoke {
        /// The key's id (from `herald keys list`).
        key_id: String,
        #[command(flatten)]
        format: output::Format,
    },
    /// Print a new encryption key in the format HERALD_ENCRYPTION_KEYS accepts.
    GenEncryption,
    /// Re-seal every stored secret with the newest key in HERALD_ENCRYPTION_KEYS. Safe to
    /// interrupt and run again.
    RotateEncryption,
}

#[derive(Debug, Subcommand)]
enum PostsCommand {
    /// Enqueue a post (POST /v1/posts).
    Create {
        #[command(flatten)]
        post: client::NewPost,
        #[command(flatten)]
        api: client::Connection,
        #[command(flatten)]
        format: output::Format,
    },
    /// Show a post and its deliveries (GET /v1/posts/ID).
    Get {
        /// The post's id.
        id: String,
        #[command(flatten)]
        api: client::Connection,
        #[command(flatten)]
        format: output::Format,
    },
    /// List posts, newest first (GET /v1/posts).
    List {
        #[command(flatten)]
        page: client::Page,
        #[command(flatten)]
        api: client::Connection,
        #[command(flatten)]
        format: output::Format,
    },
}

#[derive(Debug, Subcommand)]
enum DeliveriesCommand {
    /// List deliveries, newest first (GET /v1/deliveries).
    List {
        #[command(flatten)]
        filter: client::DeliveryFilter,
        #[command(flatten)]
        api: client::Connection,
        #[command(flatten)]
        format: output::Format,
    },
}

#[derive(Debug, Subcommand)]
enum ConnectionsCommand {
    /// List the connected accounts (GET /v1/connections).
    List {
        #[command(flatten)]
        api: client::Connection,
        #[command(flatten)]
        format: output::Format,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration as TOML that loads back as a configuration file
    /// (secrets left out and named in a comment); exit non-zero if it is invalid.
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
    if let Command::Sim { addr, sim_config } = cli.command {
        if cli.config.is_some() {
            eprintln!(
                "herald sim: --config names Herald's configuration, which the simulator does \
                 not read; its own file is --sim-config FILE"
            );
            return ExitCode::from(2);
        }
        return finish(block_on(sim::run(addr, sim_config.as_deref())));
    }
    // Producer commands speak to the API; they read the configuration only for its
    // public_url, and only when no API URL is given.
    if matches!(
        cli.command,
        Command::Posts(_) | Command::Deliveries(_) | Command::Connections(_)
    ) {
        return finish(block_on(call_api(cli.command, cli.config)));
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
        Command::Work => Box::pin(work::run(&config)).await,
        Command::Tenants(TenantsCommand::Create { name, format }) => {
            admin::create_tenant(&config, &name, format).await
        }
        Command::Tenants(TenantsCommand::List { format }) => {
            admin::list_tenants(&config, format).await
        }
        Command::Keys(KeysCommand::Create {
            tenant,
            scopes,
            name,
            format,
        }) => admin::create_key(&config, &tenant, &scopes, name.as_deref(), format).await,
        Command::Keys(KeysCommand::List { tenant, format }) => {
            admin::list_keys(&config, &tenant, format).await
        }
        Command::Keys(KeysCommand::Revoke { key_id, format }) => {
            admin::revoke_key(&config, &key_id, format).await
        }
        Command::Keys(KeysCommand::RotateEncryption) => admin::rotate_encryption(&config).await,
        Command::Keys(KeysCommand::GenEncryption)
        | Command::Config(ConfigCommand::Check)
        | Command::Openapi
        | Command::Sim { .. }
        | Command::Posts(_)
        | Command::Deliveries(_)
        | Command::Connections(_) => {
            unreachable!("handled before the configuration is loaded")
        }
    }
}

/// The producer commands: each one API call with a key.
async fn call_api(command: Command, file: Option<PathBuf>) -> anyhow::Result<()> {
    let file = file.as_deref();
    match command {
        Command::Posts(PostsCommand::Create { post, api, format }) => {
            client::create_post(&client::Client::new(api, file)?, post, format).await
        }
        Command::Posts(PostsCommand::Get { id, api, format }) => {
            client::get_post(&client::Client::new(api, file)?, &id, format).await
        }
        Command::Posts(PostsCommand::List { page, api, format }) => {
            client::list_posts(&client::Client::new(api, file)?, &page, format).await
        }
        Command::Deliveries(DeliveriesCommand::List {
            filter,
            api,
            format,
        }) => client::list_deliveries(&client::Client::new(api, file)?, &filter, format).await,
        Command::Connections(ConnectionsCommand::List { api, format }) => {
            client::list_connections(&client::Client::new(api, file)?, format).await
        }
        _ => unreachable!("only producer commands call the API"),
    }
}
