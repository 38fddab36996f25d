//! What the worker's end-to-end tests share: a fresh database, a Redis prefix, a simulator
//! on port 0, connections made the way a user makes them (the simulator's OAuth), posts
//! created through the store and pushed through `JobQueue`, and workers run in-process
//! (or as a `herald work` child process).

// Helpers fail the test the way the tests do: by panicking on an answer they did not expect.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_config::Config;
use herald_domain::{
    AppType, ConnectionId, DeliveryId, DeliveryState, MediaRef, Platform, PostContent,
    PostTargetType, PublishJob, TenantId,
};
use herald_platforms::{
    AuthorizeRequest, ChatId, CodeExchange, HttpSettings, Platforms, TargetKind, TokenSet,
};
use herald_queue::{JobQueue, RedisKeys};
use herald_sim::{SimConfig, SimServer};
use herald_store::{Delivery, NewConnection, NewDelivery, NewPost, PostInsert, Store, Tokens};
use herald_testkit::{TestDb, TestRedis, test_keyring};
use herald_worker::{Deps, Metrics, WorkerSettings};
use secrecy::SecretString;
use serde_json::Value;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::eventually;
use crate::process::herald_binary;

/// A simulator whose processing waits are short, for tests that are not about them.
pub fn fast_sim() -> SimConfig {
    let mut config = SimConfig::default();
    config.linkedin.image_processing_ms = 200;
    config.instagram.container_processing_ms = 200;
    config.threads.container_processing_ms = 200;
    config.x.media_processing_ms = 200;
    config.linkedin.video_processing_ms = 300;
    config.facebook.video_processing_ms = 300;
    config.instagram.reels.processing_ms = 300;
    config.threads.video.processing_ms = 300;
    config
}

/// [`fast_sim`] whose personal LinkedIn app may read its members' posts, with the variable
/// that makes Herald ask for it: for tests whose LinkedIn publishes are settled by lookup.
/// The permission (`r_member_social`) is closed to new apps on LinkedIn, so the simulator
/// refuses member reads unless it is granted.
pub fn sim_with_member_lookups() -> (SimConfig, [(&'static str, &'static str); 1]) {
    let mut config = fast_sim();
    config
        .fixtures
        .grant_scope("herald-dev-linkedin", "r_member_social");
    let scopes = (
        "HERALD_PLATFORMS__LINKEDIN__PERSONAL_SCOPES",
        r#"["openid", "profile", "email", "w_member_social", "r_member_social"]"#,
    );
    (config, [scopes])
}

/// Everything one test runs against.
pub struct Harness {
    pub db: TestDb,
    pub redis: TestRedis,
    pub sim: SimServer,
    pub config: Config,
    pub store: Store,
    pub queue: JobQueue,
    pub platforms: Platforms,
    pub tenant: TenantId,
    http: reqwest::Client,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("tenant", &self.tenant)
            .field("database", &self.db.url())
            .field("redis_prefix", &self.redis.prefix())
            .field("simulator", &self.sim.base_url())
            .finish_non_exhaustive()
    }
}

impl Harness {
    pub async fn start(sim: SimConfig) -> Self {
        Self::start_with(sim, &[]).await
    }

    /// `vars` are extra configuration variables (`HERALD_...`).
    pub async fn start_with(sim: SimConfig, vars: &[(&str, &str)]) -> Self {
        let db = TestDb::new().await;
        let redis = TestRedis::new().await;
        let sim = herald_sim::spawn(sim).await.expect("the simulator starts");
        let mut env: Vec<(String, String)> = vec![
            ("HERALD_PLATFORM_BASE_URL".into(), sim.base_url()),
            ("HERALD_REDIS_PREFIX".into(), redis.prefix().into()),
            ("DATABASE_URL".into(), db.url().into()),
            ("REDIS_URL".into(), redis.url().into()),
            // Exactly the simulator is reachable for media fetches: no other loopback host,
            // as in production.
            (
                "HERALD_OUTBOUND__ALLOW".into(),
                format!("[\"{}\"]", sim.addr()),
            ),
            (
                "HERALD_OUTBOUND__ALLOW_LOOPBACK_IN_DEVELOPMENT".into(),
                "false".into(),
            ),
            // Media (uploads, copies prepared per platform) in a directory of this test's own.
            (
                "HERALD_MEDIA__DIR".into(),
                std::env::temp_dir()
                    .join(format!("herald-media-{}", redis.prefix()))
                    .display()
                    .to_string(),
            ),
        ];
        for (name, value) in vars {
            env.retain(|(k, _)| k != name);
            env.push(((*name).to_owned(), (*value).to_owned()));
        }
        let config = Config::load_from(None, env).expect("the test configuration is valid");
        let pool = PgPoolOptions::new()
            .max_connections(40)
            .connect(db.url())
            .await
            .expect("Postgres");
        let store = Store::new(pool, Arc::new(test_keyring()));
        let queue = JobQueue::connect(redis.url(), RedisKeys::new(redis.prefix()))
            .await
            .expect("Redis");
        let platforms = Platforms::new(&config.platforms, &http_settings()).expect("platforms");
        let tenant = store.tenants().create("e2e").await.expect("tenant").id;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            db,
            redis,
            sim,
            config,
            store,
            queue,
            platforms,
            tenant,
            http,
        }
    }

    /// Worker settings with short leases, heartbeats and retry waits.
    pub fn settings(&self) -> WorkerSettings {
        let mut settings = WorkerSettings::from_config(&self.config);
        settings.lease = Duration::from_secs(3);
        settings.consumer.heartbeat = Duration::from_secs(1);
        settings.consumer.missed_heartbeats = 3;
        settings.consumer.poll_interval = Duration::from_millis(50);
        settings.sweep_interval = Duration::from_millis(300);
        settings.redispatch_after = Duration::from_secs(2);
        settings.shutdown_grace = Duration::from_secs(3);
        settings.retry = herald_worker::RetrySchedule::new(vec![Duration::from_millis(300)], 0.0);
        settings
    }

    /// Starts a worker in this process with `settings`.
    pub fn spawn_worker_with(&self, settings: WorkerSettings) -> RunningWorker {
        self.spawn_worker_with_metrics(settings, Metrics::standalone().0)
    }

    /// Starts a worker in this process that counts into `metrics`.
    pub fn spawn_worker_with_metrics(
        &self,
        settings: WorkerSettings,
        metrics: Metrics,
    ) -> RunningWorker {
        let deps = Deps {
            store: self.store.clone(),
            platforms: Platforms::new(&self.config.platforms, &http_settings()).expect("platforms"),
            queue: self.queue.clone(),
            metrics,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(herald_worker::run(settings, deps, async {
            let _ = stopped.await;
        }));
        RunningWorker {
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn spawn_worker(&self) -> RunningWorker {
        self.spawn_worker_with(self.settings())
    }

    /// Connects `platform` the way a user does (the simulator approves its test user) and
    /// stores the connection.
    pub async fn connect(&self, platform: Platform, app_type: Option<AppType>) -> ConnectionId {
        self.connect_as(platform, app_type, None).await
    }

    pub async fn connect_as(
        &self,
        platform: Platform,
        app_type: Option<AppType>,
        tokens_override: Option<Tokens>,
    ) -> ConnectionId {
        let mut new = self.new_connection(platform, app_type).await;
        if let Some(tokens) = tokens_override {
            new.tokens = tokens;
        }
        let (connection, _) = self
            .store
            .connections()
            .upsert(&new)
            .await
            .expect("connection stored");
        connection.id
    }

    async fn new_connection(&self, platform: Platform, app_type: Option<AppType>) -> NewConnection {
        let base = |account_id: String, tokens: Tokens| NewConnection {
            tenant_id: self.tenant,
            external_user_id: Some(format!("user-{platform}-{app_type:?}")),
            platform,
            app_type,
            post_target_type: PostTargetType::Personal,
            selected_page_id: None,
            account_id,
            account_name: None,
            account_handle: None,
            scopes: Vec::new(),
            rate_tier: None,
            tokens,
        };
        if platform == Platform::Telegram {
            let fixtures = self
                .control(reqwest::Method::GET, "/_sim/fixtures", None)
                .await;
            let token = SecretString::from(
                fixtures["telegram"]["bot_token"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
            let chat = fixtures["telegram"]["channel"].as_str().map_or_else(
                || fixtures["telegram"]["chat_id"].to_string(),
                str::to_owned,
            );
            let channel = self
                .platforms
                .connect_telegram(&token, &ChatId::parse(&chat).unwrap())
                .await
                .expect("the development bot may post in its channel");
            let mut new = base(
                channel.chat_id.to_string(),
                Tokens {
                    access_token: token,
                    refresh_token: None,
                    expires_at: None,
                },
            );
            new.account_handle = channel.username;
            return new;
        }
        let set = self.authorize(platform, app_type).await;
        let tokens = Tokens {
            access_token: set.access_token.clone(),
            refresh_token: set.refresh_token.clone(),
            expires_at: set.expires_at,
        };
        match platform {
            Platform::Twitter | Platform::Threads => {
                let me = self
                    .platforms
                    .identity(platform, &set.access_token)
                    .await
                    .unwrap();
                let mut new = base(me.account_id, tokens);
                new.account_handle = me.username;
                new
            }
            Platform::Linkedin => {
                let me = self
                    .platforms
                    .identity(platform, &set.access_token)
                    .await
                    .unwrap();
                let mut new = base(me.account_id, tokens);
                if app_type == Some(AppType::Company) {
                    let orgs = self
                        .platforms
                        .targets(platform, app_type, &set.access_token)
                        .await
                        .unwrap();
                    new.post_target_type = PostTargetType::Page;
                    new.selected_page_id = Some(orgs[0].id.clone());
                }
                new
            }
            Platform::Facebook => {
                let me = self
                    .platforms
                    .identity(platform, &set.access_token)
                    .await
                    .unwrap();
                let pages = self
                    .platforms
                    .targets(platform, None, &set.access_token)
                    .await
                    .unwrap();
                let mut new = base(
                    me.account_id,
                    Tokens {
                        access_token: pages[0].access_token.clone().expect("a page token"),
                        ..tokens
                    },
                );
                new.post_target_type = PostTargetType::Page;
                new.selected_page_id = Some(pages[0].id.clone());
                new
            }
            Platform::Instagram => {
                let accounts = self
                    .platforms
                    .targets(platform, None, &set.access_token)
                    .await
                    .unwrap();
                let ig = &accounts[0];
                assert_eq!(ig.kind, TargetKind::InstagramAccount);
                let mut new = base(ig.id.clone(), tokens);
                new.post_target_type = PostTargetType::Page;
                new.selected_page_id = ig.page_id.clone();
                new.account_handle = ig.username.clone();
                new
            }
            Platform::Telegram => unreachable!("handled above"),
        }
    }

    /// The simulator's OAuth: open the authorize URL, take the code, exchange it.
    pub async fn authorize(&self, platform: Platform, app_type: Option<AppType>) -> TokenSet {
        let auth = self
            .platforms
            .authorize_url(&AuthorizeRequest {
                platform,
                app_type,
                state: None,
            })
            .unwrap();
        let answer = self.http.get(&auth.url).send().await.unwrap();
        let location = answer.headers()["location"].to_str().unwrap().to_owned();
        let callback = url::Url::parse(&location).unwrap();
        let query: HashMap<_, _> = callback.query_pairs().into_owned().collect();
        self.platforms
            .exchange_code(&CodeExchange {
                platform,
                app_type: auth.app_type,
                code: SecretString::from(query["code"].clone()),
                pkce_verifier: auth.pkce_verifier,
            })
            .await
            .unwrap_or_else(|f| panic!("{platform}: exchange failed: {f}"))
    }

    /// Creates a post for `connection` through the store and pushes its job, like the API
    /// does after its commit.
    pub async fn post(
        &self,
        connection: ConnectionId,
        content: PostContent,
        publish_at: Option<DateTime<Utc>>,
    ) -> DeliveryId {
        self.posts(&[(connection, content)], publish_at).await[0]
    }

    pub async fn posts(
        &self,
        posts: &[(ConnectionId, PostContent)],
        publish_at: Option<DateTime<Utc>>,
    ) -> Vec<DeliveryId> {
        let ids = self.insert_posts(posts, publish_at).await;
        let at = publish_at.unwrap_or_else(Utc::now);
        let jobs: Vec<(PublishJob, DateTime<Utc>)> =
            ids.iter().map(|id| (PublishJob::new(*id), at)).collect();
        self.queue.push_many(&jobs).await.expect("pushed");
        ids
    }

    /// Creates posts without pushing anything (as if Redis had lost the jobs).
    pub async fn insert_posts(
        &self,
        posts: &[(ConnectionId, PostContent)],
        publish_at: Option<DateTime<Utc>>,
    ) -> Vec<DeliveryId> {
        let new: Vec<NewPost> = posts
            .iter()
            .map(|(connection, content)| NewPost {
                tenant_id: self.tenant,
                idempotency: None,
                content: content.clone(),
                publish_at,
                metadata: serde_json::Map::new(),
                deliveries: vec![NewDelivery {
                    connection_id: *connection,
                    content: None,
                    max_attempts: 5,
                }],
            })
            .collect();
        let inserted = self
            .store
            .posts()
            .insert_posts(&new)
            .await
            .expect("posts stored");
        inserted
            .into_iter()
            .map(|insert| match insert {
                PostInsert::Created(post) => post.deliveries[0].id,
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    pub async fn delivery(&self, id: DeliveryId) -> Delivery {
        self.store
            .deliveries()
            .get(id)
            .await
            .unwrap()
            .expect("the delivery exists")
    }

    /// Waits until every delivery is in a final state (or `within` runs out).
    pub async fn until_final(&self, ids: &[DeliveryId], within: Duration) -> Vec<Delivery> {
        eventually(within, || async {
            let mut all = Vec::new();
            for id in ids {
                let d = self.delivery(*id).await;
                if !d.state.is_final() {
                    return None;
                }
                all.push(d);
            }
            Some(all)
        })
        .await
        .unwrap_or_else(|| panic!("not every delivery finished within {within:?}"))
    }

    pub async fn until_state(
        &self,
        id: DeliveryId,
        state: DeliveryState,
        within: Duration,
    ) -> Delivery {
        eventually(within, || async {
            let d = self.delivery(id).await;
            (d.state == state).then_some(d)
        })
        .await
        .unwrap_or_else(|| panic!("delivery did not become {state} within {within:?}"))
    }

    /// Posts the simulator holds for `platform`.
    pub async fn sim_posts(&self, platform: &str) -> Vec<Value> {
        let posts = self
            .control(
                reqwest::Method::GET,
                &format!("/_sim/posts?platform={platform}"),
                None,
            )
            .await;
        posts["data"].as_array().cloned().unwrap_or_default()
    }

    /// How many posts on the simulator carry exactly `text`.
    pub async fn sim_count(&self, platform: &str, text: &str) -> usize {
        self.sim_posts(platform)
            .await
            .iter()
            .filter(|p| p["text"].as_str() == Some(text))
            .count()
    }

    pub async fn sim_requests(&self) -> Value {
        self.control(reqwest::Method::GET, "/_sim/requests", None)
            .await
    }

    pub async fn fault(&self, rule: Value) {
        self.control(reqwest::Method::POST, "/_sim/faults", Some(rule))
            .await;
    }

    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, self.sim.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.expect("control API answers");
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.expect("control API JSON")
    }

    /// A URL at which the simulator serves `bytes` as `content_type` (a test video, say).
    pub async fn host(&self, bytes: &[u8], content_type: &str) -> String {
        let answer = self
            .http
            .post(self.sim.url("/_sim/media"))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes.to_vec())
            .send()
            .await
            .expect("the simulator hosts media");
        assert!(answer.status().is_success(), "{}", answer.status());
        let hosted: Value = answer.json().await.expect("JSON");
        hosted["url"].as_str().expect("a URL").to_owned()
    }

    /// A URL of a simulator-served JPEG of `size` (e.g. `1080x1080`).
    pub fn image_url(&self, size: &str) -> String {
        self.sim.url(&format!("/_sim/images/{size}.jpg"))
    }

    /// The configuration as environment variables, for a `herald work` child process.
    pub fn child_env(&self) -> Vec<(String, String)> {
        vec![
            ("HERALD_PLATFORM_BASE_URL".into(), self.sim.base_url()),
            ("HERALD_REDIS_PREFIX".into(), self.redis.prefix().into()),
            ("DATABASE_URL".into(), self.db.url().into()),
            ("REDIS_URL".into(), self.redis.url().into()),
            (
                "HERALD_ENCRYPTION_KEYS".into(),
                herald_testkit::TEST_KEYRING.into(),
            ),
            // Workers run side by side: each serves its metrics on a port of its own.
            ("HERALD_WORKER__METRICS_ADDR".into(), "127.0.0.1:0".into()),
            (
                "HERALD_OUTBOUND__ALLOW".into(),
                format!("[\"{}\"]", self.sim.addr()),
            ),
            (
                "HERALD_OUTBOUND__ALLOW_LOOPBACK_IN_DEVELOPMENT".into(),
                "false".into(),
            ),
        ]
    }

    /// Deletes every Redis key of this deployment: the queue, its workers, the limiter.
    pub async fn flush_redis(&self) {
        let mut conn = self.redis.connection().await;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("*{}*", self.redis.prefix()))
            .query_async(&mut conn)
            .await
            .expect("KEYS");
        assert!(!keys.is_empty(), "there were keys to delete");
        let _: () = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .expect("DEL");
    }

    /// `herald <subcommand>` as a child process against the harness' services, with short
    /// leases, heartbeats and sweeps so a test sees recovery in seconds. Its stdout is
    /// dropped and its stderr shown with the test's output; callers add or override the rest.
    pub fn herald_command(&self, subcommand: &str) -> Command {
        let mut command = Command::new(herald_binary());
        command
            .arg(subcommand)
            .envs(self.child_env())
            .env("HERALD_WORKER__LEASE_SECS", "5")
            .env("HERALD_WORKER__HEARTBEAT_SECS", "1")
            .env("HERALD_WORKER__MISSED_HEARTBEATS", "3")
            .env("HERALD_WORKER__SWEEP_INTERVAL_MS", "300")
            .env("HERALD_WORKER__REDISPATCH_AFTER_SECS", "2")
            .env("HERALD_WORKER__RETRY_SCHEDULE_SECS", "[1]")
            .env("HERALD_WORKER__PLATFORM_POLL_INTERVAL_MS", "50")
            .env("HERALD_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        command
    }
}

pub fn http_settings() -> HttpSettings {
    HttpSettings {
        request_timeout: Duration::from_secs(3),
        poll_interval: Duration::from_millis(50),
        container_wait: Duration::from_secs(10),
        ..HttpSettings::default()
    }
}

pub fn text(body: &str) -> PostContent {
    PostContent {
        text: Some(body.to_owned()),
        ..PostContent::default()
    }
}

pub fn with_image(body: &str, url: String) -> PostContent {
    PostContent {
        text: Some(body.to_owned()),
        media: vec![MediaRef::Url { url }],
        ..PostContent::default()
    }
}

/// A worker running in this process; stops (gracefully) when asked or dropped.
#[derive(Debug)]
pub struct RunningWorker {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), herald_worker::WorkerError>>>,
}

impl RunningWorker {
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(20), task)
                .await
                .expect("the worker stops within its grace period")
                .expect("the worker task")
                .expect("the worker stops cleanly");
        }
    }
}

impl Drop for RunningWorker {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
