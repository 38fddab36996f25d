//! What every scenario starts from: the simulator, a scratch database and Redis prefix, the
//! store, the queue and the platform clients, a tenant, and LinkedIn connections made
//! through the simulator's OAuth; and a worker, in this process or as a child process of
//! its own (for a memory figure that is the worker's alone).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use herald_config::Config;
use herald_domain::{
    AppType, ConnectionId, DeliveryId, MediaRef, Platform, PostContent, PostTargetType, PublishJob,
    TenantId,
};
use herald_platforms::{AuthorizeRequest, CodeExchange, HttpSettings, Platforms};
use herald_queue::{JobQueue, RedisKeys};
use herald_sim::{SimConfig, SimServer};
use herald_store::{NewConnection, NewDelivery, NewPost, PostInsert, Store, Tokens};
use herald_testkit::{TestDb, TestRedis, test_keyring};
use herald_worker::{Deps, Metrics, WorkerSettings};
use secrecy::SecretString;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// One scenario's world.
#[derive(Debug)]
pub(crate) struct Bench {
    pub(crate) db: TestDb,
    pub(crate) redis: TestRedis,
    pub(crate) sim: SimServer,
    pub(crate) config: Config,
    pub(crate) pool: PgPool,
    pub(crate) store: Store,
    pub(crate) queue: JobQueue,
    pub(crate) platforms: Platforms,
    pub(crate) tenant: TenantId,
}

impl Bench {
    /// Starts the simulator with `sim` and connects to a fresh database and Redis prefix.
    pub(crate) async fn start(sim: SimConfig) -> anyhow::Result<Self> {
        let db = TestDb::new().await;
        let redis = TestRedis::new().await;
        let sim = herald_sim::spawn(sim)
            .await
            .context("the simulator starts")?;
        let config = Config::load_from(None, env(&sim, &redis))?;
        let pool = PgPoolOptions::new()
            .max_connections(48)
            .connect(db.url())
            .await?;
        let store = Store::new(pool.clone(), Arc::new(test_keyring()));
        let queue = JobQueue::connect(redis.url(), RedisKeys::new(redis.prefix())).await?;
        let platforms = Platforms::new(&config.platforms, &http_settings())?;
        let tenant = store.tenants().create("bench").await?.id;
        Ok(Self {
            db,
            redis,
            sim,
            config,
            pool,
            store,
            queue,
            platforms,
            tenant,
        })
    }

    /// `count` LinkedIn personal connections of one simulated member (one OAuth, its tokens
    /// stored `count` times under different end users): for Herald each is a connection of
    /// its own, with its own token reads and rate windows.
    pub(crate) async fn linkedin_connections(
        &self,
        count: usize,
    ) -> anyhow::Result<Vec<ConnectionId>> {
        let (account_id, tokens) = self.linkedin_tokens().await?;
        let mut ids = Vec::with_capacity(count);
        for n in 0..count {
            let (connection, _) = self
                .store
                .connections()
                .upsert(&NewConnection {
                    tenant_id: self.tenant,
                    external_user_id: Some(format!("bench-{n}")),
                    platform: Platform::Linkedin,
                    app_type: Some(AppType::Personal),
                    post_target_type: PostTargetType::Personal,
                    selected_page_id: None,
                    account_id: account_id.clone(),
                    account_name: None,
                    account_handle: None,
                    scopes: Vec::new(),
                    rate_tier: None,
                    tokens: Tokens {
                        access_token: tokens.access_token.clone(),
                        refresh_token: tokens.refresh_token.clone(),
                        expires_at: tokens.expires_at,
                    },
                })
                .await?;
            ids.push(connection.id);
        }
        Ok(ids)
    }

    async fn linkedin_tokens(&self) -> anyhow::Result<(String, Tokens)> {
        let auth = self.platforms.authorize_url(&AuthorizeRequest {
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
        let set = self
            .platforms
            .exchange_code(&CodeExchange {
                platform: Platform::Linkedin,
                app_type: auth.app_type,
                code: SecretString::from(code),
                pkce_verifier: auth.pkce_verifier,
            })
            .await?;
        let me = self
            .platforms
            .identity(Platform::Linkedin, &set.access_token)
            .await?;
        Ok((
            me.account_id,
            Tokens {
                access_token: set.access_token,
                refresh_token: set.refresh_token,
                expires_at: set.expires_at,
            },
        ))
    }

    /// Inserts one post per (connection, content), 500 to a statement, and returns their
    /// deliveries.
    pub(crate) async fn posts(
        &self,
        posts: Vec<(ConnectionId, PostContent)>,
        publish_at: Option<DateTime<Utc>>,
    ) -> anyhow::Result<Vec<DeliveryId>> {
        let posts: Vec<NewPost> = posts
            .into_iter()
            .map(|(connection_id, content)| NewPost {
                tenant_id: self.tenant,
                idempotency: None,
                content,
                publish_at,
                metadata: serde_json::Map::new(),
                deliveries: vec![NewDelivery {
                    connection_id,
                    content: None,
                    max_attempts: 5,
                }],
            })
            .collect();
        let mut ids = Vec::with_capacity(posts.len());
        for chunk in posts.chunks(500) {
            for inserted in self.store.posts().insert_posts(chunk).await? {
                let PostInsert::Created(post) = inserted else {
                    bail!("a benchmark post was not created");
                };
                ids.extend(post.deliveries.iter().map(|d| d.id));
            }
        }
        Ok(ids)
    }

    /// Pushes one job per delivery, due at `at`, 500 to a call.
    pub(crate) async fn push(&self, ids: &[DeliveryId], at: DateTime<Utc>) -> anyhow::Result<()> {
        let jobs: Vec<_> = ids.iter().map(|id| (PublishJob::new(*id), at)).collect();
        for chunk in jobs.chunks(500) {
            self.queue.push_many(chunk).await?;
        }
        Ok(())
    }

    /// The settings of a bench worker: `concurrency` deliveries at once, on any platform,
    /// with no politeness pause between one account's posts.
    pub(crate) fn settings(&self, concurrency: usize) -> WorkerSettings {
        settings(&self.config, concurrency)
    }

    /// Starts a worker in this process.
    pub(crate) fn spawn_worker(&self, settings: WorkerSettings) -> Worker {
        let deps = Deps {
            store: self.store.clone(),
            platforms: self.platforms.clone(),
            queue: self.queue.clone(),
            metrics: Metrics::standalone().0,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(herald_worker::run(settings, deps, async {
            let _ = stopped.await;
        }));
        Worker { stop, task }
    }

    /// Runs an in-process worker of `concurrency` over `ids` from the moment their jobs are
    /// pushed until every one is published (failing after `limit`); returns the seconds
    /// that took.
    pub(crate) async fn publish_all(
        &self,
        ids: &[DeliveryId],
        concurrency: usize,
        limit: Duration,
    ) -> anyhow::Result<f64> {
        let worker = self.spawn_worker(self.settings(concurrency));
        let started = Instant::now();
        self.push(ids, Utc::now()).await?;
        self.until_published(ids.len(), limit).await?;
        let seconds = started.elapsed().as_secs_f64();
        worker.stop().await;
        Ok(seconds)
    }

    /// The environment a child worker process needs to reach this bench's world.
    pub(crate) fn child_env(&self) -> Vec<(String, String)> {
        let mut env = env(&self.sim, &self.redis);
        env.push(("DATABASE_URL".to_owned(), self.db.url().to_owned()));
        env.push(("REDIS_URL".to_owned(), self.redis.url().to_owned()));
        env
    }

    /// How many deliveries are in `state`.
    pub(crate) async fn count(&self, state: &str) -> anyhow::Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE state = $1")
                .bind(state)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Waits until `total` deliveries are published; fails after `limit`.
    pub(crate) async fn until_published(
        &self,
        total: usize,
        limit: Duration,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        let total = i64::try_from(total)?;
        loop {
            let published = self.count("published").await?;
            if published >= total {
                return Ok(());
            }
            if started.elapsed() > limit {
                bail!("only {published} of {total} published after {limit:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// An image the simulator serves, by URL.
    pub(crate) fn image(&self, text: &str) -> PostContent {
        PostContent {
            text: Some(text.to_owned()),
            media: vec![MediaRef::Url {
                url: self.sim.url("/_sim/images/1200x627.jpg"),
            }],
            ..PostContent::default()
        }
    }
}

/// A text post.
pub(crate) fn text(text: String) -> PostContent {
    PostContent {
        text: Some(text),
        ..PostContent::default()
    }
}

/// A worker running in this process.
#[derive(Debug)]
pub(crate) struct Worker {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), herald_worker::WorkerError>>,
}

impl Worker {
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// The settings of a bench worker (see [`Bench::settings`]).
pub(crate) fn settings(config: &Config, concurrency: usize) -> WorkerSettings {
    let mut settings = WorkerSettings::from_config(config);
    settings.concurrency = concurrency;
    settings.per_platform_concurrency = concurrency;
    settings.limits.per_account_per_second = 0;
    settings.consumer.poll_interval = Duration::from_millis(20);
    settings
}

/// The platforms' HTTP settings: the simulator's waits polled every 50 ms.
pub(crate) fn http_settings() -> HttpSettings {
    HttpSettings {
        poll_interval: Duration::from_millis(50),
        ..HttpSettings::default()
    }
}

/// Configuration pointing at the simulator and the Redis prefix; media fetches may reach
/// the simulator and nothing else.
fn env(sim: &SimServer, redis: &TestRedis) -> Vec<(String, String)> {
    vec![
        ("HERALD_PLATFORM_BASE_URL".to_owned(), sim.base_url()),
        ("HERALD_REDIS_PREFIX".to_owned(), redis.prefix().to_owned()),
        (
            "HERALD_OUTBOUND__ALLOW".to_owned(),
            format!("[\"{}\"]", sim.addr()),
        ),
        (
            "HERALD_OUTBOUND__ALLOW_LOOPBACK_IN_DEVELOPMENT".to_owned(),
            "false".to_owned(),
        ),
        (
            "HERALD_MEDIA__DIR".to_owned(),
            std::env::temp_dir()
                .join(format!("herald-bench-media-{}", redis.prefix()))
                .display()
                .to_string(),
        ),
    ]
}

/// Percentile `p` (0-100) of sorted `values`, nearest rank.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Rounded to milliseconds' precision in seconds (three decimals).
pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
