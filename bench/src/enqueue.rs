//! `herald-bench enqueue`: how many posts per second the API accepts, and how long each
//! `POST /v1/posts` takes.
//!
//! It starts the API in process (as the end-to-end tests do, with the pool `herald serve`
//! uses) against a scratch database and Redis prefix, connects the simulator's Telegram
//! channel through `POST /v1/connections/telegram`, then runs `--connections` clients, each
//! sending `POST /v1/posts` (one Telegram target) back to back on its own keep-alive
//! connection, for `--seconds` (or until `--posts` were sent). No worker runs: the jobs stay
//! in Redis. The key's rate limit is lifted, so the API's own cost is what is measured. It
//! prints one JSON line:
//!
//! ```text
//! {"scenario":"enqueue","connections":50,"posts":...,"seconds":...,"posts_per_second":...,"p50_ms":...,"p99_ms":...}
//! ```
//!
//! Run: `cargo run --release -p herald-bench -- enqueue --seconds 10`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use herald_api::AppState;
use herald_config::Config;
use herald_domain::Scope;
use herald_platforms::{HttpSettings, Platforms};
use herald_store::{PoolSettings, Store};
use herald_testkit::{TestDb, TestRedis, test_keyring};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

/// `herald-bench enqueue`.
#[derive(Debug, clap::Parser)]
#[command(about = "Measure how many posts per second POST /v1/posts accepts (no worker)")]
pub(crate) struct Args {
    /// Client connections, each sending requests back to back.
    #[arg(long, default_value_t = 50)]
    pub(crate) connections: usize,
    /// How long to measure, after the warm-up.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) seconds: f64,
    /// Stop after this many posts in all (before `--seconds` ran out).
    #[arg(long)]
    pub(crate) posts: Option<u64>,
    /// Requests sent before measuring (caches, pools and connections warm up), in seconds.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) warmup_seconds: f64,
}

/// Runs the scenario and prints its line.
pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    if args.connections == 0 {
        bail!("--connections must be at least 1");
    }
    let db = TestDb::new().await;
    let redis = TestRedis::new().await;
    let sim = herald_sim::spawn(herald_sim::SimConfig::unlimited())
        .await
        .context("the simulator starts")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let config = Config::load_from(
        None,
        [
            ("DATABASE_URL".to_owned(), db.url().to_owned()),
            ("REDIS_URL".to_owned(), redis.url().to_owned()),
            ("HERALD_REDIS_PREFIX".to_owned(), redis.prefix().to_owned()),
            ("HERALD_PUBLIC_URL".to_owned(), base.clone()),
            ("HERALD_PLATFORM_BASE_URL".to_owned(), sim.base_url()),
            (
                "HERALD_API__RATE_LIMIT_PER_SECOND".to_owned(),
                "1000000".to_owned(),
            ),
            (
                "HERALD_API__RATE_LIMIT_BURST".to_owned(),
                "1000000".to_owned(),
            ),
        ],
    )?;
    // The pool `herald serve` builds.
    let pool = herald_store::connect_with(
        db.url(),
        PoolSettings {
            acquire_timeout: config.database_acquire_timeout,
            ..PoolSettings::default()
        },
    )
    .await?;
    let store = Store::new(pool, Arc::new(test_keyring()));
    let redis_conn =
        herald_queue::connect(config.redis_url.expose_secret(), Default::default()).await?;
    let platforms = Platforms::new(&config.platforms, &HttpSettings::default())?;
    let state = AppState::new(config, store.clone(), redis_conn, platforms)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(herald_api::serve(state, listener, async {
        let _ = stopped.await;
    }));

    let (tenant, producer) = store
        .tenants()
        .create_with_key("bench", &[Scope::Publish, Scope::Read], Some("producer"))
        .await?;
    let admin = store
        .api_keys()
        .create(tenant.id, &[Scope::Admin], None)
        .await?;
    let producer = producer.key.expose_secret().to_owned();
    let connection = connect_telegram(&base, admin.key.expose_secret()).await?;

    let warmup = Duration::from_secs_f64(args.warmup_seconds.max(0.0));
    let measure = Duration::from_secs_f64(args.seconds.max(0.1));
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now() + warmup;
    let deadline = started + measure;
    let mut clients = Vec::with_capacity(args.connections);
    for client in 0..args.connections {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()?;
        let url = format!("{base}/v1/posts");
        let key = producer.clone();
        let body = json!({"targets": [connection], "text": "benchmark post"});
        let sent = sent.clone();
        let limit = args.posts;
        clients.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0u64;
            loop {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                let measuring = now >= started;
                if measuring
                    && let Some(limit) = limit
                    && sent.fetch_add(1, Ordering::Relaxed) >= limit
                {
                    break;
                }
                let response = http
                    .post(&url)
                    .bearer_auth(&key)
                    .header("idempotency-key", format!("bench-{client}-{n}"))
                    .json(&body)
                    .send()
                    .await?;
                n += 1;
                let status = response.status();
                if status != reqwest::StatusCode::ACCEPTED {
                    let answer = response.text().await.unwrap_or_default();
                    bail!("POST /v1/posts answered {status}: {answer}");
                }
                let _ = response.bytes().await?;
                if measuring {
                    latencies.push(now.elapsed());
                }
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for client in clients {
        latencies.extend(client.await??);
    }
    let seconds = started.elapsed().min(measure).as_secs_f64();
    let _ = stop.send(());
    let _ = server.await;
    latencies.sort_unstable();
    let posts = latencies.len();
    let ms = |q: f64| {
        let index = ((posts as f64 * q).ceil() as usize).clamp(1, posts.max(1)) - 1;
        latencies
            .get(index)
            .map_or(0.0, |d| (d.as_secs_f64() * 10_000.0).round() / 10.0)
    };
    println!(
        "{}",
        json!({
            "scenario": "enqueue",
            "connections": args.connections,
            "posts": posts,
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "posts_per_second": (posts as f64 / seconds).round(),
            "p50_ms": ms(0.50),
            "p99_ms": ms(0.99),
        })
    );
    Ok(())
}

/// Connects the simulator's Telegram channel through the API; returns the connection id.
async fn connect_telegram(base: &str, admin_key: &str) -> anyhow::Result<String> {
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/connections/telegram"))
        .bearer_auth(admin_key)
        .json(&json!({"bot_token": herald_sim::DEV_BOT_TOKEN, "chat_id": "@herald_dev_channel"}))
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() {
        bail!("connecting Telegram answered {status}: {body}");
    }
    body["id"]
        .as_str()
        .map(str::to_owned)
        .context("the connection's id")
}
