//! `herald demo`: Herald end to end on one machine, against the platform simulator.
//!
//! It runs what an operator runs, the way they run it: the simulator stands in for the six
//! platforms; `herald serve` and `herald work` are started as processes of their own (this
//! same binary), configured only through the environment; everything a producer does goes
//! through the HTTP API (connecting accounts through the real OAuth redirects, enqueueing
//! posts, watching them). The demo then checks that every delivery reached the state it
//! expected and exits 0 only if so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use herald_config::Config;
use herald_domain::Scope;
use herald_sim::{FaultAction, FaultRule, SimConfig};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use services::Services;

mod services;

/// The video the demo uploads: 4 s, 720x1280, H.264 and AAC (one of the test videos).
const DEMO_VIDEO: &[u8] = include_bytes!("../../../tests/fixtures/video/portrait-720x1280-4s.mp4");

/// The first comment the demo puts under a post on X, a LinkedIn page and a Facebook Page.
const FIRST_COMMENT: &str = "The first comment, published right after the post.";

/// How long the whole batch may take before the demo gives up on it.
const DEADLINE: Duration = Duration::from_secs(150);
/// Where the OAuth callback sends the browser back to; the demo stops following there.
const RETURN_TO: &str = "http://demo.invalid/connected";

pub(crate) async fn run(
    config: &Config,
    config_file: Option<&Path>,
    keep_running: bool,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let demo_dir = config.data_dir.join("demo");
    std::fs::create_dir_all(&demo_dir)
        .with_context(|| format!("cannot create {}", demo_dir.display()))?;
    let mut services = Services::default();
    // Ctrl-C or SIGTERM drops the demo where it stands: its processes stop, then the private
    // servers, below.
    let outcome = tokio::select! {
        outcome = async {
            step("checking Postgres and Redis");
            services.ensure(config, &demo_dir).await?;
            let config = services.apply(config);
            demo(&config, config_file, &demo_dir, &services.env(), started).await
        } => outcome,
        () = crate::serve::shutdown_signal() => Err(anyhow::anyhow!("interrupted")),
    };
    let outcome = match outcome {
        Ok(running) => {
            if keep_running {
                println!("\nEverything stays up; Ctrl-C stops it.");
                crate::serve::shutdown_signal().await;
            }
            running.stop().await
        }
        Err(err) => Err(err),
    };
    if services.any_private() {
        step("stopping the private Postgres and Redis, removing their data");
        services.stop();
    }
    outcome
}

/// What the demo leaves running once it printed its table, until [`Running::stop`].
#[derive(Debug)]
struct Running {
    processes: Processes,
    sim: herald_sim::SimServer,
    ok: bool,
}

impl Running {
    async fn stop(self) -> anyhow::Result<()> {
        drop(self.processes);
        let _ = self.sim.shutdown().await;
        if !self.ok {
            bail!("the demo's expectations were not met (see the table above)");
        }
        Ok(())
    }
}

async fn demo(
    config: &Config,
    config_file: Option<&Path>,
    logs: &Path,
    services_env: &[(&'static str, String)],
    started: Instant,
) -> anyhow::Result<Running> {
    step("migrating the database");
    crate::admin::migrate(config).await?;

    step("starting the platform simulator");
    let sim = herald_sim::spawn(sim_config())
        .await
        .context("cannot start the simulator")?;
    let sim_url = sim.base_url();
    let sim_host = sim_url.trim_start_matches("http://").to_owned();
    detail(&format!(
        "X, LinkedIn, Facebook, Instagram, Threads, Telegram at {sim_url}"
    ));

    let api_port = free_port()?;
    let api_url = format!("http://127.0.0.1:{api_port}");
    let prefix = format!("herald-demo-{}", uuid::Uuid::new_v4().simple());
    let mut env: Vec<(&str, String)> = vec![
        ("HERALD_PLATFORM_BASE_URL", sim_url.clone()),
        ("HERALD_PUBLIC_URL", api_url.clone()),
        ("HERALD_API__ADDR", format!("127.0.0.1:{api_port}")),
        // Any free port: a worker already running here may hold the default one.
        ("HERALD_WORKER__METRICS_ADDR", "127.0.0.1:0".to_owned()),
        ("HERALD_REDIS_PREFIX", prefix),
        // The simulator is on loopback over plain http: allow exactly it for media fetches
        // and webhooks, whatever the environment.
        ("HERALD_OUTBOUND__ALLOW", format!("[\"{sim_host}\"]")),
        // The OAuth callback may send the browser back only to allowed origins.
        (
            "HERALD_API__ALLOWED_RETURN_ORIGINS",
            "[\"http://demo.invalid\"]".to_owned(),
        ),
        ("HERALD_LOG", "warn,herald=info".to_owned()),
        // The demo's uploads (and copies prepared per platform) stay with its other files,
        // unless the media directory is configured as an absolute path.
        (
            "HERALD_MEDIA__DIR",
            if config.media.dir.is_absolute() {
                config.media.dir.display().to_string()
            } else {
                logs.join("media").display().to_string()
            },
        ),
        // A small Threads publishing window, so the demo shows a delivery waiting for its
        // window (rate_limited, no attempt used) and then going out.
        (
            "HERALD_PLATFORMS__THREADS__POSTS_PER_WINDOW",
            "2".to_owned(),
        ),
        ("HERALD_PLATFORMS__THREADS__WINDOW_SECS", "15".to_owned()),
    ];
    env.extend(services_env.iter().cloned());

    step("starting the API and a worker (herald serve, herald work)");
    let mut processes = Processes::default();
    processes.start("serve", config_file, &env, logs)?;
    processes.start("work", config_file, &env, logs)?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.url().host_str() == Some("demo.invalid") {
                attempt.stop()
            } else {
                attempt.follow()
            }
        }))
        .timeout(Duration::from_secs(20))
        .build()?;
    wait_ready(&http, &api_url, &mut processes).await?;
    detail(&format!("API at {api_url}; logs in {}", logs.display()));

    step("creating a demo tenant and its API key");
    let keyring = crate::encryption::keyring(config)?;
    let pool = herald_store::connect(config.database_url.expose_secret()).await?;
    let store = herald_store::Store::new(pool, std::sync::Arc::new(keyring));
    let name = format!("demo-{}", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
    let (tenant, key) = store
        .tenants()
        .create_with_key(
            &name,
            &[Scope::Publish, Scope::Read, Scope::Admin],
            Some("demo"),
        )
        .await?;
    let api = Api {
        http,
        base: api_url.clone(),
        key: key.key.expose_secret().to_owned(),
    };
    detail(&format!("tenant {name} ({})", tenant.id));

    step("connecting accounts through the real OAuth flows");
    let fixtures: Value = api
        .http
        .get(sim.url("/_sim/fixtures"))
        .send()
        .await?
        .json()
        .await?;
    let accounts = connect_all(&api, &fixtures).await?;

    step("uploading a video through POST /v1/media");
    let video = api
        .upload(DEMO_VIDEO, "herald-demo.mp4", "video/mp4")
        .await?;
    detail(&format!(
        "{} ({} bytes, {} ms, {}x{})",
        video["id"].as_str().unwrap_or_default(),
        video["bytes"],
        video["duration_ms"],
        video["width"],
        video["height"]
    ));
    let video = video["id"]
        .as_str()
        .context("no id in the upload's answer")?;

    step("enqueueing a batch of posts through POST /v1/posts");
    let image = sim.url("/_sim/images/1080x1080.jpg");
    let plan = enqueue(&api, &accounts, &image, video).await?;
    detail(&format!(
        "{} posts, {} deliveries",
        plan.len(),
        plan.iter().map(|p| p.deliveries.len()).sum::<usize>()
    ));

    step("publishing (live)");
    let results = watch(&api, &plan, started).await?;

    let mut ok = print_table(&results);
    let comments = first_comments(&api, &sim).await?;
    println!();
    println!(
        "First comments on the simulator, each under its post: {}",
        if comments.is_empty() {
            "none".to_owned()
        } else {
            comments.join(", ")
        }
    );
    ok &= comments.len() == 3;
    println!();
    println!("Dashboard:    {api_url}/dashboard   (sign in with the API key below)");
    println!("API:          {api_url}   (OpenAPI at {api_url}/docs)");
    println!("API key:      {}", api.key);
    println!("Simulator:    {sim_url}/_sim/posts lists what was posted");
    println!(
        "Took {:.1} s. {}",
        started.elapsed().as_secs_f64(),
        if ok {
            "Every delivery reached the state the demo expected."
        } else {
            "Some deliveries did not reach the state the demo expected."
        }
    );
    Ok(Running { processes, sim, ok })
}

/// The simulator as the demo wants it: quick processing, and a few scripted troubles so the
/// demo shows retries and a permanent failure.
fn sim_config() -> SimConfig {
    let mut config = SimConfig::default();
    config.linkedin.image_processing_ms = 1_500;
    config.instagram.container_processing_ms = 1_500;
    // Two 503s on LinkedIn's post endpoint: the worker retries and publishes.
    config.faults.push(FaultRule {
        platform: "linkedin".to_owned(),
        endpoint: Some("POST /rest/posts".to_owned()),
        script: vec![FaultAction::Status(503), FaultAction::Status(503)],
        ..FaultRule::default()
    });
    config
}

fn step(what: &str) {
    println!("==> {what}");
}

fn detail(what: &str) {
    println!("    {what}");
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Child processes, stopped when the demo ends however it ends.
#[derive(Default)]
struct Processes(Vec<(String, Child, PathBuf)>);

impl Processes {
    fn start(
        &mut self,
        command: &str,
        config_file: Option<&Path>,
        env: &[(&str, String)],
        logs: &Path,
    ) -> anyhow::Result<()> {
        let exe = std::env::current_exe().context("cannot find the herald binary")?;
        let log_path = logs.join(format!("{command}.log"));
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        let mut cmd = Command::new(exe);
        if let Some(file) = config_file {
            cmd.arg("--config").arg(file);
        }
        cmd.arg(command)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start herald {command}"))?;
        self.0.push((command.to_owned(), child, log_path));
        Ok(())
    }

    /// A child that already stopped, with the end of its log.
    fn exited(&mut self) -> Option<String> {
        for (name, child, log) in &mut self.0 {
            if let Ok(Some(status)) = child.try_wait() {
                let tail = std::fs::read_to_string(&*log).unwrap_or_default();
                let tail: Vec<&str> = tail.lines().rev().take(15).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                return Some(format!(
                    "herald {name} stopped ({status}); the end of {}:\n{}",
                    log.display(),
                    tail.join("\n")
                ));
            }
        }
        None
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for (_, child, _) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl std::fmt::Debug for Processes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(n, _, _)| n))
            .finish()
    }
}

async fn wait_ready(
    http: &reqwest::Client,
    api: &str,
    processes: &mut Processes,
) -> anyhow::Result<()> {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(why) = processes.exited() {
            bail!("{why}");
        }
        if let Ok(response) = http.get(format!("{api}/readyz")).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > until {
            bail!("the API did not become ready within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[derive(Debug)]
struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("{method} {path} answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn put(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    /// Uploads a file to the media store (`POST /v1/media`, multipart).
    async fn upload(&self, bytes: &[u8], name: &str, mime: &str) -> anyhow::Result<Value> {
        let part = reqwest::multipart::Part::bytes(bytes.to_vec())
            .file_name(name.to_owned())
            .mime_str(mime)?;
        let response = self
            .http
            .post(format!("{}/v1/media", self.base))
            .bearer_auth(&self.key)
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("POST /v1/media answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }

    /// The OAuth dance a browser does: ask Herald for the authorize URL, follow it to the
    /// platform (which approves the test user) and back to Herald's callback, which redirects
    /// to `return_to` with the new connection's id.
    async fn connect(&self, platform: &str, target: Option<&str>) -> anyhow::Result<String> {
        let mut body = json!({"user": "demo-user", "return_to": RETURN_TO});
        if let Some(target) = target {
            body["target"] = json!(target);
        }
        let out = self.post(&format!("/v1/connect/{platform}"), body).await?;
        let authorize = out["authorize_url"]
            .as_str()
            .context("no authorize_url in the answer")?;
        let response = self.http.get(authorize).send().await?;
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let url = url::Url::parse(&location).with_context(|| {
            format!(
                "{platform}: the callback did not redirect back (status {})",
                response.status()
            )
        })?;
        let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        if let Some(id) = query.get("connection_id") {
            return Ok(id.clone());
        }
        bail!(
            "{platform}: connecting failed: {} {}",
            query.get("error").map_or("", String::as_str),
            query.get("error_description").map_or("", String::as_str)
        )
    }
}

/// Connection ids by the demo's name for each target.
type Accounts = BTreeMap<&'static str, String>;

async fn connect_all(api: &Api, fixtures: &Value) -> anyhow::Result<Accounts> {
    let mut accounts = Accounts::new();
    for (name, platform, target) in [
        ("X", "twitter", None),
        ("LinkedIn member", "linkedin", Some("personal")),
        ("LinkedIn page", "linkedin", Some("company")),
        ("Facebook page", "facebook", None),
        ("Instagram", "instagram", None),
        ("Threads", "threads", None),
    ] {
        let id = api.connect(platform, target).await?;
        // Pages: choose the first the account administers.
        if matches!(platform, "facebook" | "instagram") || target == Some("company") {
            let pages = api.get(&format!("/v1/connections/{id}/pages")).await?;
            if let Some(page) = pages["data"].get(0).and_then(|p| p["id"].as_str()) {
                api.put(
                    &format!("/v1/connections/{id}/page"),
                    json!({"page_id": page}),
                )
                .await?;
            }
        }
        detail(&format!("{name:<16} connected ({id})"));
        accounts.insert(name, id);
    }
    let telegram = api
        .post(
            "/v1/connections/telegram",
            json!({
                "bot_token": fixtures["telegram"]["bot_token"],
                "chat_id": fixtures["telegram"]["chat_id"].to_string(),
            }),
        )
        .await?;
    let id = telegram["id"]
        .as_str()
        .context("no id for the Telegram connection")?;
    detail(&format!(
        "{:<16} connected ({id}) with its bot token",
        "Telegram"
    ));
    accounts.insert("Telegram", id.to_owned());
    Ok(accounts)
}

/// One enqueued post and what the demo expects of its deliveries.
#[derive(Debug)]
struct Planned {
    label: &'static str,
    expect: &'static str,
    /// (delivery id, target name)
    deliveries: Vec<(String, String)>,
}

async fn enqueue(
    api: &Api,
    accounts: &Accounts,
    image: &str,
    video: &str,
) -> anyhow::Result<Vec<Planned>> {
    let ids = |names: &[&str]| -> Vec<Value> {
        names
            .iter()
            .filter_map(|n| accounts.get(n))
            .map(|id| json!(id))
            .collect()
    };
    let everyone_but_instagram = [
        "X",
        "LinkedIn member",
        "LinkedIn page",
        "Facebook page",
        "Threads",
        "Telegram",
    ];
    let with_images = [
        "X",
        "LinkedIn member",
        "Facebook page",
        "Instagram",
        "Threads",
        "Telegram",
    ];
    let in_15s = chrono::Utc::now() + chrono::Duration::seconds(15);
    let stamp = chrono::Utc::now().format("%H:%M:%S");
    let batch = vec![
        (
            "text post",
            "published",
            json!({"targets": ids(&everyone_but_instagram),
                   "text": format!("Hello from Herald ({stamp}): one post, six platforms.")}),
        ),
        (
            "image post",
            "published",
            json!({"targets": ids(&with_images),
                   "text": format!("A picture, published everywhere that takes one ({stamp})."),
                   "media": [{"url": image}]}),
        ),
        (
            "video",
            "published",
            json!({"targets": ids(&with_images),
                   "text": format!("A video, uploaded once, on six platforms ({stamp})."),
                   "media": [{"media_id": video}]}),
        ),
        (
            "carousel",
            "published",
            json!({"targets": ids(&["Instagram", "Threads"]),
                   "text": format!("A carousel: two pictures and a video ({stamp})."),
                   "media": [{"url": image}, {"url": image}, {"media_id": video}]}),
        ),
        (
            "first comment",
            "published",
            json!({"targets": ids(&["X", "LinkedIn page", "Facebook page"]),
                   "text": format!("A post with a first comment under it ({stamp})."),
                   "first_comment": FIRST_COMMENT}),
        ),
        (
            "X thread",
            "published",
            json!({"targets": ids(&["X"]),
                   "text": format!("A thread in three parts ({stamp}) 1/3"),
                   "thread": ["Each part replies to the one before. 2/3",
                              "And Herald never posts a part twice. 3/3"]}),
        ),
        (
            "scheduled +15 s",
            "published",
            json!({"targets": ids(&["Telegram", "LinkedIn member"]),
                   "text": format!("Scheduled for {}", in_15s.format("%H:%M:%S")),
                   "publish_at": in_15s.to_rfc3339()}),
        ),
        (
            "over the window",
            "published",
            json!({"targets": ids(&["Threads"]),
                   "text": format!("Threads allows 2 posts per 15 s here: this one waits ({stamp}).")}),
        ),
        (
            "duplicate tweet",
            "failed",
            json!({"targets": ids(&["X"]),
                   "text": format!("Hello from Herald ({stamp}): one post, six platforms.")}),
        ),
    ];
    let mut plan = Vec::new();
    for (label, expect, body) in batch {
        let out = api.post("/v1/posts", body).await?;
        let deliveries = out["deliveries"]
            .as_array()
            .context("no deliveries in the answer")?
            .iter()
            .map(|d| {
                let connection = d["connection_id"].as_str().unwrap_or_default();
                let name = accounts
                    .iter()
                    .find(|(_, id)| id.as_str() == connection)
                    .map_or("?", |(name, _)| name);
                (
                    d["id"].as_str().unwrap_or_default().to_owned(),
                    (*name).to_owned(),
                )
            })
            .collect();
        plan.push(Planned {
            label,
            expect,
            deliveries,
        });
        // The duplicate must reach X after the original: give the first batch a head start.
        if label == "X thread" {
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
    }
    Ok(plan)
}

/// The platforms where the demo's first comment stands under its post (`reply_to`).
async fn first_comments(api: &Api, sim: &herald_sim::SimServer) -> anyhow::Result<Vec<String>> {
    let posts: Value = api
        .http
        .get(sim.url("/_sim/posts"))
        .send()
        .await?
        .json()
        .await?;
    Ok(posts["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["text"] == FIRST_COMMENT && !p["reply_to"].is_null())
        .filter_map(|p| p["platform"].as_str().map(str::to_owned))
        .collect())
}

/// A delivery as last seen.
#[derive(Debug, Clone)]
struct Seen {
    label: &'static str,
    target: String,
    expect: &'static str,
    state: String,
    attempts: i64,
    url: String,
    hint: String,
}

const FINAL: &[&str] = &["published", "failed", "dead", "unknown", "cancelled"];

async fn watch(api: &Api, plan: &[Planned], started: Instant) -> anyhow::Result<Vec<Seen>> {
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    for post in plan {
        for (id, target) in &post.deliveries {
            seen.insert(
                id.clone(),
                Seen {
                    label: post.label,
                    target: target.clone(),
                    expect: post.expect,
                    state: "queued".to_owned(),
                    attempts: 0,
                    url: String::new(),
                    hint: String::new(),
                },
            );
        }
    }
    let until = Instant::now() + DEADLINE;
    loop {
        for (id, entry) in &mut seen {
            if FINAL.contains(&entry.state.as_str()) {
                continue;
            }
            let delivery = api.get(&format!("/v1/deliveries/{id}")).await?;
            let delivery = if delivery.get("delivery").is_some() {
                &delivery["delivery"]
            } else {
                &delivery
            };
            let state = delivery["state"].as_str().unwrap_or("?").to_owned();
            if state != entry.state {
                println!(
                    "    {:>5.1}s  {:<16} {:<16} {} -> {}",
                    started.elapsed().as_secs_f64(),
                    entry.target,
                    entry.label,
                    entry.state,
                    state
                );
                entry.state = state;
            }
            entry.attempts = delivery["attempts"].as_i64().unwrap_or(0);
            entry.url = delivery["url"].as_str().unwrap_or_default().to_owned();
            entry.hint = delivery["error"]["hint"]
                .as_str()
                .or_else(|| delivery["error"]["message"].as_str())
                .unwrap_or_default()
                .to_owned();
        }
        if seen.values().all(|s| FINAL.contains(&s.state.as_str())) || Instant::now() > until {
            return Ok(seen.into_values().collect());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Prints one row per delivery; true when every delivery is in its expected state.
fn print_table(results: &[Seen]) -> bool {
    println!();
    println!(
        "{:<16} {:<16} {:<10} {:>8}  public URL / hint",
        "target", "post", "state", "attempts"
    );
    let mut ok = true;
    for row in results {
        let met = row.state == row.expect;
        ok &= met;
        let mark = if met { " " } else { "!" };
        let tail = if row.url.is_empty() {
            row.hint.clone()
        } else {
            row.url.clone()
        };
        println!(
            "{:<16} {:<16} {:<10}{mark}{:>8}  {}",
            row.target, row.label, row.state, row.attempts, tail
        );
    }
    ok
}
