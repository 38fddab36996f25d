//! `herald-bench`: how many deliveries per second one worker publishes.
//!
//! It starts the simulator (rate limits off, no added latency) on port 0, creates a scratch
//! database and a Redis prefix (as the tests do; `DATABASE_URL`'s server and `REDIS_URL`),
//! connects a LinkedIn account through the simulator's OAuth, then creates `--posts` text
//! posts through the store, pushes their jobs and runs one in-process worker until every
//! delivery is published. It prints one JSON line:
//!
//! ```text
//! {"posts":2000,"seconds":...,"deliveries_per_second":...,"concurrency":256}
//! ```
//!
//! Run: `cargo run --release -p herald-bench -- --posts 2000`.
//!
//! `herald-bench enqueue` measures the API's side instead: see `enqueue.rs`.

// A measuring program speaks on stdout.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use clap::Parser;
use herald_config::Config;
use herald_domain::{AppType, Platform, PostContent, PostTargetType, PublishJob};
use herald_platforms::{AuthorizeRequest, CodeExchange, HttpSettings, Platforms};
use herald_queue::{JobQueue, RedisKeys};
use herald_store::{NewConnection, NewDelivery, NewPost, PostInsert, Store, Tokens};
use herald_testkit::{TestDb, TestRedis, test_keyring};
use herald_worker::{Deps, Metrics, WorkerSettings};
use secrecy::SecretString;
use sqlx::postgres::PgPoolOptions;

mod enqueue;

#[derive(Debug, Parser)]
#[command(about = "Measure one worker's publishing throughput against the simulator")]
struct Args {
    /// How many posts to publish.
    #[arg(long, default_value_t = 2000)]
    posts: usize,
    /// Deliveries the worker runs at once.
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("enqueue") {
        return enqueue::run(enqueue::Args::parse_from(std::env::args().skip(1))).await;
    }
    let args = Args::parse();
    let db = TestDb::new().await;
    let redis = TestRedis::new().await;
    let sim = herald_sim::spawn(herald_sim::SimConfig::unlimited())
        .await
        .context("the simulator starts")?;
    let config = Config::load_from(
        None,
        [
            ("HERALD_PLATFORM_BASE_URL".to_owned(), sim.base_url()),
            ("HERALD_REDIS_PREFIX".to_owned(), redis.prefix().to_owned()),
        ],
    )?;
    let pool = PgPoolOptions::new()
        .max_connections(48)
        .connect(db.url())
        .await?;
    let store = Store::new(pool.clone(), Arc::new(test_keyring()));
    let queue = JobQueue::connect(redis.url(), RedisKeys::new(redis.prefix())).await?;
    let http = HttpSettings {
        poll_interval: Duration::from_millis(50),
        ..HttpSettings::default()
    };
    let platforms = Platforms::new(&config.platforms, &http)?;
    let tenant = store.tenants().create("bench").await?.id;
    let connection = connect_linkedin(&store, &platforms, tenant).await?;

    let posts: Vec<NewPost> = (0..args.posts)
        .map(|n| NewPost {
            tenant_id: tenant,
            idempotency: None,
            content: PostContent {
                text: Some(format!("benchmark post {n}")),
                ..PostContent::default()
            },
            publish_at: None,
            metadata: serde_json::Map::new(),
            deliveries: vec![NewDelivery {
                connection_id: connection,
                content: None,
                max_attempts: 5,
            }],
        })
        .collect();
    let mut jobs = Vec::with_capacity(args.posts);
    for chunk in posts.chunks(500) {
        for inserted in store.posts().insert_posts(chunk).await? {
            let PostInsert::Created(post) = inserted else {
                bail!("a benchmark post was not created");
            };
            jobs.push((PublishJob::new(post.deliveries[0].id), Utc::now()));
        }
    }

    let mut settings = WorkerSettings::from_config(&config);
    settings.concurrency = args.concurrency;
    settings.per_platform_concurrency = args.concurrency;
    settings.limits.per_account_per_second = 0;
    settings.consumer.poll_interval = Duration::from_millis(20);
    let deps = Deps {
        store: store.clone(),
        platforms,
        queue: queue.clone(),
        metrics: Metrics::standalone().0,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(herald_worker::run(settings, deps, async {
        let _ = stopped.await;
    }));

    let started = Instant::now();
    for chunk in jobs.chunks(500) {
        queue.push_many(chunk).await?;
    }
    let total = i64::try_from(args.posts)?;
    loop {
        let published: i64 =
            sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE state = 'published'")
                .fetch_one(&pool)
                .await?;
        if published >= total {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("only {published} of {total} published after 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = stop.send(());
    let _ = worker.await;
    println!(
        "{}",
        serde_json::json!({
            "posts": args.posts,
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "deliveries_per_second": (args.posts as f64 / seconds).round(),
            "concurrency": args.concurrency,
        })
    );
    Ok(())
}

/// A LinkedIn personal connection made through the simulator's OAuth.
async fn connect_linkedin(
    store: &Store,
    platforms: &Platforms,
    tenant: herald_domain::TenantId,
) -> anyhow::Result<herald_domain::ConnectionId> {
    let auth = platforms.authorize_url(&AuthorizeRequest {
        platform: Platform::Linkedin,
        app_type: Some(AppType::Personal),
        state: None,
    })?;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let answer = browser.get(&auth.url).send().await?;
    let location = answer
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .context("the simulator redirects to the callback")?;
    let query: HashMap<_, _> = url::Url::parse(location)?
        .query_pairs()
        .into_owned()
        .collect();
    let code = query.get("code").context("a code")?.clone();
    let tokens = platforms
        .exchange_code(&CodeExchange {
            platform: Platform::Linkedin,
            app_type: auth.app_type,
            code: SecretString::from(code),
            pkce_verifier: auth.pkce_verifier,
        })
        .await?;
    let me = platforms
        .identity(Platform::Linkedin, &tokens.access_token)
        .await?;
    let (connection, _) = store
        .connections()
        .upsert(&NewConnection {
            tenant_id: tenant,
            external_user_id: Some("bench".to_owned()),
            platform: Platform::Linkedin,
            app_type: Some(AppType::Personal),
            post_target_type: PostTargetType::Personal,
            selected_page_id: None,
            account_id: me.account_id,
            account_name: None,
            account_handle: None,
            scopes: Vec::new(),
            rate_tier: None,
            tokens: Tokens {
                access_token: tokens.access_token,
                refresh_token: tokens.refresh_token,
                expires_at: tokens.expires_at,
            },
        })
        .await?;
    Ok(connection.id)
}
