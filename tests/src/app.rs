//! `TestApp`: the API as an operator runs it, started on port 0 for one test, with its own
//! database, Redis prefix, media directory and platform simulator, plus a tenant with one
//! key per scope. Helpers read as what a producer does ("post", "connect Telegram").

use std::path::PathBuf;
use std::time::Duration;

use herald_api::AppState;
use herald_config::Config;
use herald_domain::{
    ConnectionId, DeliveryId, DeliveryState, ErrorClass, Platform, Scope, TenantId,
};
use herald_platforms::{HttpSettings, Platforms};
use herald_sim::{SimConfig, SimServer};
use herald_store::{DeliveryError, Store, Transition};
use herald_testkit::{TestDb, TestRedis};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A tenant's keys, one per kind of caller.
#[derive(Debug, Clone)]
pub struct Keys {
    pub tenant: TenantId,
    /// `publish,read`: what `herald tenants create` gives a producer.
    pub producer: String,
    pub read: String,
    pub publish: String,
    pub admin: String,
}

pub struct TestApp {
    pub base: String,
    pub store: Store,
    pub config: Config,
    pub sim: SimServer,
    pub keys: Keys,
    /// Follows no redirects, so OAuth hops can be inspected.
    pub http: reqwest::Client,
    pub redis: TestRedis,
    pub db: TestDb,
    media_dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    worker_stop: Option<oneshot::Sender<()>>,
    webhooks_stop: Option<tokio_util::sync::DropGuard>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    /// With extra configuration, as environment variables (`HERALD_API__...`).
    pub async fn spawn_with(env: &[(&str, &str)]) -> TestApp {
        Self::spawn_with_sim(SimConfig::default(), env).await
    }

    pub async fn spawn_with_sim(sim: SimConfig, env: &[(&str, &str)]) -> TestApp {
        let db = TestDb::new().await;
        let redis = TestRedis::new().await;
        let sim = herald_sim::spawn(sim).await.expect("the simulator starts");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("bound");
        let base = format!("http://{addr}");
        let media_dir = std::env::temp_dir().join(format!("herald-media-{}", uuid::Uuid::new_v4()));
        let mut vars: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), db.url().to_owned()),
            ("REDIS_URL".into(), redis.url().to_owned()),
            ("HERALD_REDIS_PREFIX".into(), redis.prefix().to_owned()),
            ("HERALD_PUBLIC_URL".into(), base.clone()),
            ("HERALD_PLATFORM_BASE_URL".into(), sim.base_url()),
            ("HERALD_MEDIA__DIR".into(), media_dir.display().to_string()),
            ("HERALD_API__EVENTS_POLL_MS".into(), "50".into()),
            ("HERALD_API__WEBHOOKS__POLL_MS".into(), "100".into()),
            (
                "HERALD_API__WEBHOOKS__RETRY_SCHEDULE_SECS".into(),
                "[1, 1]".into(),
            ),
        ];
        for (name, value) in env {
            vars.retain(|(k, _)| k != name);
            vars.push(((*name).to_owned(), (*value).to_owned()));
        }
        let config = Config::load_from(None, vars).expect("the test configuration is valid");
        let store = db.store();
        let redis_conn =
            herald_queue::connect(config.redis_url.expose_secret(), Default::default())
                .await
                .expect("Redis answers");
        let platforms = Platforms::new(&config.platforms, &fast_http()).expect("platform clients");
        let state = AppState::new(config.clone(), store.clone(), redis_conn, platforms)
            .expect("the API state builds");
        let stop = serve_api(state, listener);
        let keys = tenant_keys(&store, "acme").await;
        TestApp {
            base,
            store,
            config,
            sim,
            keys,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client"),
            redis,
            db,
            media_dir,
            stop: Some(stop),
            worker_stop: None,
            webhooks_stop: None,
        }
    }

    /// Another API instance on this app's database and Redis, as a second replica behind a
    /// load balancer would be: nothing in memory is shared with the first. It stops when
    /// dropped.
    pub async fn spawn_api(&self) -> ApiInstance {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let base = format!("http://{}", listener.local_addr().expect("bound"));
        let redis_conn =
            herald_queue::connect(self.config.redis_url.expose_secret(), Default::default())
                .await
                .expect("Redis answers");
        let platforms =
            Platforms::new(&self.config.platforms, &fast_http()).expect("platform clients");
        let state = AppState::new(
            self.config.clone(),
            self.store.clone(),
            redis_conn,
            platforms,
        )
        .expect("the API state builds");
        ApiInstance {
            base,
            stop: Some(serve_api(state, listener)),
        }
    }

    /// Stops this app's own API (what a restart does to it; `spawn_api` starts another).
    pub fn stop_api(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Another tenant with its own keys, for "another tenant's ids are not found".
    pub async fn other_tenant(&self) -> Keys {
        tenant_keys(&self.store, "globex").await
    }

    /// Claims the delivery as a worker would and lets it die with a permanent error (a
    /// Telegram "chat not found" with its hint): the dead delivery an operator finds.
    pub async fn make_dead(&self, id: DeliveryId) {
        let deliveries = self.store.deliveries();
        deliveries
            .claim(id, "test-worker", Duration::from_secs(30))
            .await
            .expect("the claim is answered")
            .expect("the delivery is claimable");
        let moved = deliveries
            .transition(
                Transition::new(id, &[DeliveryState::Running], DeliveryState::Dead).error(
                    DeliveryError {
                        class: ErrorClass::Permanent,
                        code: Some("400".into()),
                        message: "chat not found".into(),
                        hint: Some("Check the bot's rights".into()),
                    },
                ),
            )
            .await
            .expect("the transition is answered");
        assert!(moved, "delivery {id} did not move from running to dead");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with `key` as its bearer.
    pub fn request(&self, method: Method, path: &str, key: &str) -> RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(key)
    }

    pub async fn get(&self, path: &str, key: &str) -> Response {
        self.request(Method::GET, path, key)
            .send()
            .await
            .expect("the API answers")
    }

    pub async fn post_json(&self, path: &str, key: &str, body: &Value) -> Response {
        self.request(Method::POST, path, key)
            .json(body)
            .send()
            .await
            .expect("the API answers")
    }

    /// `POST /v1/posts` as the producer.
    pub async fn create_post(&self, body: &Value) -> Response {
        self.post_json("/v1/posts", &self.keys.producer, body).await
    }

    /// Posts and expects 202; returns the answer.
    pub async fn post_ok(&self, body: &Value) -> Value {
        let response = self.create_post(body).await;
        let status = response.status();
        let answer: Value = response.json().await.expect("JSON");
        assert_eq!(status, StatusCode::ACCEPTED, "{answer:#}");
        answer
    }

    /// Connects the simulator's Telegram channel with its bot; returns the connection id.
    pub async fn connect_telegram(&self) -> String {
        let response = self
            .post_json(
                "/v1/connections/telegram",
                &self.keys.admin,
                &json!({"bot_token": herald_sim::DEV_BOT_TOKEN, "chat_id": "@herald_dev_channel"}),
            )
            .await;
        let status = response.status();
        let body: Value = response.json().await.expect("JSON");
        assert!(status.is_success(), "{status}: {body:#}");
        body["id"].as_str().expect("an id").to_owned()
    }

    /// A connection written straight to the store (a platform account this test does not
    /// need to connect for real).
    pub async fn insert_connection(&self, tenant: TenantId, platform: Platform) -> ConnectionId {
        let page = matches!(platform, Platform::Facebook | Platform::Instagram);
        let (connection, _) = self
            .store
            .connections()
            .upsert(&herald_store::NewConnection {
                tenant_id: tenant,
                external_user_id: None,
                platform,
                app_type: (platform == Platform::Linkedin)
                    .then_some(herald_domain::AppType::Personal),
                post_target_type: if page {
                    herald_domain::PostTargetType::Page
                } else {
                    herald_domain::PostTargetType::Personal
                },
                selected_page_id: page.then(|| "200000000000001".to_owned()),
                account_id: "1790000000000000001".to_owned(),
                account_name: Some("Herald Dev".to_owned()),
                account_handle: Some("herald_dev".to_owned()),
                scopes: Vec::new(),
                rate_tier: None,
                tokens: herald_store::Tokens {
                    access_token: "test-access-token-that-is-long-enough".to_owned().into(),
                    refresh_token: None,
                    expires_at: None,
                },
            })
            .await
            .expect("a connection");
        connection.id
    }

    /// Runs a worker in this process against the same Postgres, Redis and simulator.
    pub async fn start_worker(&mut self) {
        let mut settings = herald_worker::WorkerSettings::from_config(&self.config);
        settings.sweep_interval = Duration::from_millis(200);
        settings.redispatch_after = Duration::from_millis(500);
        settings.shutdown_grace = Duration::from_secs(1);
        let queue = herald_queue::JobQueue::connect(
            self.redis.url(),
            herald_queue::RedisKeys::new(self.config.redis_prefix.clone()),
        )
        .await
        .expect("the worker's queue connects");
        let (metrics, _) = herald_worker::Metrics::standalone();
        let deps = herald_worker::Deps {
            store: self.store.clone(),
            platforms: Platforms::new(&self.config.platforms, &fast_http()).expect("clients"),
            queue,
            metrics,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            if let Err(error) = herald_worker::run(settings, deps, async {
                let _ = stopped.await;
            })
            .await
            {
                panic!("the worker stopped: {error}");
            }
        });
        self.worker_stop = Some(stop);
    }

    /// Runs the webhook sender (what `herald work` runs beside the pipeline) in this
    /// process, until the app is dropped.
    pub fn start_webhook_sender(&mut self) {
        let settings = herald_worker::WorkerSettings::from_config(&self.config).webhooks;
        let (metrics, _) = herald_worker::Metrics::standalone();
        let sender = herald_worker::webhooks::Sender::new(self.store.clone(), settings, metrics)
            .expect("the webhook sender builds");
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(sender.run(stop.clone()));
        self.webhooks_stop = Some(stop.drop_guard());
    }

    /// Polls `GET /v1/posts/{id}` until its state is `state` (bounded); returns the post.
    pub async fn wait_for_post(&self, id: &str, state: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..300 {
            let post: Value = self
                .get(&format!("/v1/posts/{id}"), &self.keys.read)
                .await
                .json()
                .await
                .expect("JSON");
            if post["state"] == state {
                return post;
            }
            last = post;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("post {id} never reached {state}: {last:#}");
    }

    /// What the simulator says was posted.
    pub async fn sim_posts(&self) -> Vec<Value> {
        let body: Value = reqwest::get(self.sim.url("/_sim/posts"))
            .await
            .expect("the simulator answers")
            .json()
            .await
            .expect("JSON");
        body["data"].as_array().cloned().unwrap_or_default()
    }

    /// Jobs waiting or scheduled in this test's Redis queue.
    pub async fn queued_jobs(&self) -> usize {
        let queue = herald_queue::JobQueue::connect(
            self.redis.url(),
            herald_queue::RedisKeys::new(self.config.redis_prefix.clone()),
        )
        .await
        .expect("the queue connects");
        let depth = queue.depth().await.expect("depth");
        depth.waiting + depth.scheduled
    }
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("base", &self.base)
            .field("tenant", &self.keys.tenant)
            .field("database", &self.db.url())
            .field("redis_prefix", &self.redis.prefix())
            .finish_non_exhaustive()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.worker_stop.take() {
            let _ = stop.send(());
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = std::fs::remove_dir_all(&self.media_dir);
    }
}

/// An API instance started by [`TestApp::spawn_api`], stopped when dropped.
#[derive(Debug)]
pub struct ApiInstance {
    pub base: String,
    stop: Option<oneshot::Sender<()>>,
}

impl ApiInstance {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for ApiInstance {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves `state` on `listener` until the returned sender fires (or is dropped).
fn serve_api(state: AppState, listener: TcpListener) -> oneshot::Sender<()> {
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(herald_api::serve(state, listener, async {
        let _ = stopped.await;
    }));
    stop
}

/// A TCP proxy in front of Redis that a test can cut, to see the API without Redis.
#[derive(Debug)]
pub struct RedisProxy {
    pub url: String,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl RedisProxy {
    pub async fn start(redis_url: &str) -> RedisProxy {
        let target = url::Url::parse(redis_url).expect("a Redis URL");
        let target = format!(
            "{}:{}",
            target.host_str().unwrap_or("127.0.0.1"),
            target.port().unwrap_or(6379)
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let url = format!("redis://{}", listener.local_addr().expect("bound"));
        let tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>> =
            std::sync::Arc::default();
        let registry = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                registry
                    .lock()
                    .expect("not poisoned")
                    .push(pipe.abort_handle());
            }
        });
        tasks
            .lock()
            .expect("not poisoned")
            .push(accept.abort_handle());
        RedisProxy { url, tasks }
    }

    /// Closes every connection and stops listening: Redis is gone.
    pub fn cut(&self) {
        for task in self.tasks.lock().expect("not poisoned").drain(..) {
            task.abort();
        }
    }
}

fn fast_http() -> HttpSettings {
    HttpSettings {
        poll_interval: Duration::from_millis(20),
        container_wait: Duration::from_secs(5),
        ..HttpSettings::default()
    }
}

async fn tenant_keys(store: &Store, name: &str) -> Keys {
    let (tenant, producer) = store
        .tenants()
        .create_with_key(name, &[Scope::Publish, Scope::Read], Some("producer"))
        .await
        .expect("a tenant");
    let key = |scopes: &'static [Scope]| {
        let store = store.clone();
        async move {
            store
                .api_keys()
                .create(tenant.id, scopes, None)
                .await
                .expect("a key")
                .key
                .expose_secret()
                .to_owned()
        }
    };
    Keys {
        tenant: tenant.id,
        producer: producer.key.expose_secret().to_owned(),
        read: key(&[Scope::Read]).await,
        publish: key(&[Scope::Publish]).await,
        admin: key(&[Scope::Admin]).await,
    }
}

/// The problem document's `code`, checking the content type on the way.
pub async fn problem(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(
        content_type, "application/problem+json",
        "{status} {body:#}"
    );
    assert!(body["code"].is_string(), "a stable code: {body:#}");
    assert_eq!(body["status"], status.as_u16(), "{body:#}");
    (status, body)
}
