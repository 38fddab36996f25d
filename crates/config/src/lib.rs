//! Herald's configuration: loaded once, validated, then immutable.
//!
//! Layers, later wins:
//! 1. `config/herald.default.toml`, compiled into the binary, every key commented;
//! 2. an optional `herald.toml` (or the file named by `HERALD_CONFIG`);
//! 3. the environment: `HERALD_*` (nested keys with `__`, e.g. `HERALD_API__ADDR`), plus
//!    the well-known names (`DATABASE_URL`, `REDIS_URL`, `TWITTER_CLIENT_ID`,
//!    `LINKEDIN_COMPANY_CLIENT_SECRET`, `FACEBOOK_REDIRECT_URI`, ...).
//!
//! Loading is two-phase. [`RawConfig`] is exactly what the layers say, every field optional
//! where a later step can fill it in. [`Config::from_raw`] then resolves what derives from
//! other settings (platform URLs from `HERALD_PLATFORM_BASE_URL`, redirect URIs from
//! `HERALD_PUBLIC_URL`, Instagram and Threads credentials falling back to Facebook's,
//! development credentials that match the simulator) and checks every rule, reporting all
//! problems at once, each naming its key, its environment variable and the rule.

mod env;
mod keys;
mod platforms;
mod raw;
mod redact;
mod show;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Toml};
pub use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use url::Url;

pub use platforms::{
    DEVELOPMENT_APPS, LinkedinConfig, LinkedinFlow, MetaConfig, OAuthApp, PlatformsConfig,
    TelegramConfig, ThreadsConfig, TwitterConfig,
};
pub use raw::RawConfig;

/// The defaults file, compiled in so the binary runs from anywhere.
pub const DEFAULTS_TOML: &str = include_str!("../../../config/herald.default.toml");

/// Where Herald runs. Production refuses development conveniences (generated encryption keys,
/// the simulator's credentials).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

/// The validated configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub env: Environment,
    #[serde(serialize_with = "redact::url_password")]
    pub database_url: SecretString,
    /// How long a query waits for a Postgres connection before it fails as "unavailable"
    /// (the API answers 503, a worker pauses).
    #[serde(serialize_with = "serialize_millis")]
    pub database_acquire_timeout: Duration,
    #[serde(serialize_with = "redact::url_password")]
    pub redis_url: SecretString,
    /// Prepended to every Redis key, so several deployments or test runs share one Redis.
    pub redis_prefix: String,
    /// The API's externally visible base URL: redirect URIs and signed media URLs derive
    /// from it.
    pub public_url: BaseUrl,
    /// `HERALD_ENCRYPTION_KEYS`: `key_id:base64key`, comma-separated, newest first. `None` in
    /// development means "use the generated key file in `data_dir`".
    #[serde(serialize_with = "redact::optional_secret")]
    pub encryption_keys: Option<SecretString>,
    /// Local state of a development setup (the generated encryption key).
    pub data_dir: PathBuf,
    pub api: ApiConfig,
    pub media: MediaConfig,
    pub worker: WorkerConfig,
    /// What requests to URLs tenants supply (media, webhooks) may reach.
    pub outbound: OutboundConfig,
    pub platforms: PlatformsConfig,
    /// What each platform accepts (length, images); validated on enqueue and before upload.
    pub rules: herald_domain::rules::ContentRules,
    pub log: LogConfig,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiConfig {
    pub addr: SocketAddr,
    /// How far ahead `publish_at` may be.
    pub max_schedule_ahead_days: u32,
    pub body_limit_bytes: usize,
    /// Largest JSON request body (everything but media uploads).
    pub json_limit_bytes: usize,
    /// Most targets one post may have.
    pub max_targets: usize,
    /// Requests per second one API key may make on average, and the burst above it.
    pub rate_limit_per_second: u32,
    pub rate_limit_burst: u32,
    /// How long a started OAuth connection may take (10 minutes by default).
    #[serde(with = "redact::secs")]
    pub oauth_state_ttl: Duration,
    /// The origins (`scheme://host[:port]`, as [`origin_of`] writes them) an OAuth callback
    /// may redirect to. Never empty: unset, it is `public_url`'s origin alone, so a
    /// `return_to` elsewhere (an open redirect carrying the new connection's id) is refused.
    pub allowed_return_origins: Vec<String>,
    /// How often `GET /v1/events` looks for new delivery events.
    #[serde(serialize_with = "serialize_millis")]
    pub events_poll: Duration,
    /// Event streams one key may hold open at once on one instance (0: no cap).
    pub max_event_streams_per_key: usize,
    /// How long a valid key is remembered in process (zero: not at all).
    #[serde(serialize_with = "serialize_millis")]
    pub key_cache_ttl: Duration,
    /// Most keys remembered at once.
    pub key_cache_capacity: usize,
    /// Failed authentications one client address may make per minute, fleet-wide (0: no
    /// limit).
    pub auth_failures_per_address_per_minute: u32,
    /// Failed authentications of all clients together per minute, fleet-wide (0: no limit).
    pub auth_failures_per_minute: u32,
    /// Proxies whose `X-Forwarded-For` is believed.
    #[serde(serialize_with = "serialize_nets")]
    pub trusted_proxies: Vec<IpNet>,
    /// The bearer token `GET /metrics` requires; `None` asks for none. In production the
    /// API's own port serves `/metrics` only with a token (see [`ApiConfig::metrics_on_api_port`]).
    #[serde(serialize_with = "redact::optional_secret")]
    pub metrics_token: Option<SecretString>,
    /// An address of its own for `/metrics`, which then leaves the API's port (as the
    /// worker's `worker.metrics_addr`).
    pub metrics_addr: Option<SocketAddr>,
    pub webhooks: WebhooksConfig,
}

impl ApiConfig {
    /// Whether the API's public port answers `GET /metrics`: not when it has an address of
    /// its own, and in production only behind a token (the counts it reports say how busy
    /// every tenant is, which is no business of the internet's).
    pub fn metrics_on_api_port(&self, env: Environment) -> bool {
        self.metrics_addr.is_none()
            && (env == Environment::Development || self.metrics_token.is_some())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct WebhooksConfig {
    /// Waits between attempts of one webhook delivery; its length is the number of retries.
    pub retry_schedule_secs: Vec<u64>,
    #[serde(with = "redact::secs")]
    pub timeout: Duration,
    #[serde(serialize_with = "serialize_millis")]
    pub poll: Duration,
    /// How long before a token that cannot be refreshed expires `connection.expiring` is
    /// sent (0: never).
    #[serde(with = "redact::secs")]
    pub expiring_notice: Duration,
}

/// Where uploaded media lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaStoreKind {
    Local,
    S3,
}

#[derive(Debug, Clone, Serialize)]
pub struct MediaConfig {
    pub store: MediaStoreKind,
    /// The local store's directory.
    pub dir: PathBuf,
    /// Largest image accepted by `POST /v1/media`.
    pub max_bytes: u64,
    /// Largest video accepted by `POST /v1/media` or fetched by the worker from a post's
    /// URL (videos stream to disk and to the store; they are never held in memory whole).
    pub max_video_bytes: u64,
    /// Days before a derived copy (an image prepared for one platform) or an upload no post
    /// refers to is deleted, row and bytes.
    pub retention_days: u32,
    /// The most pixels (width x height) of an image Herald decodes: uploaded, or fetched by
    /// the worker from a URL. Bounds the memory one decode may take.
    pub max_pixels: u64,
    /// How long a signed media URL stays valid.
    #[serde(with = "redact::secs")]
    pub url_ttl: Duration,
    /// The longest lifetime a signed media URL may have: none is made for longer, and one
    /// whose expiry is further away than this is refused.
    #[serde(with = "redact::secs")]
    pub url_max_ttl: Duration,
    pub s3: S3Config,
}

/// The media bucket (`media.s3.*`), checked at load when `media.store = "s3"`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct S3Config {
    pub bucket: Option<String>,
    pub region: Option<String>,
    /// An S3-compatible server's URL; AWS when unset.
    pub endpoint: Option<String>,
    /// Keys live under `{prefix}/` when set.
    pub prefix: Option<String>,
    pub access_key_id: Option<String>,
    #[serde(serialize_with = "redact::optional_secret")]
    pub secret_access_key: Option<SecretString>,
    #[serde(serialize_with = "redact::optional_secret")]
    pub session_token: Option<SecretString>,
    /// Whether the endpoint is plain http: allowed only for a loopback endpoint in
    /// development (checked at load).
    pub allow_http: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkerConfig {
    pub concurrency: usize,
    /// How long a claimed delivery stays owned without a renewal.
    #[serde(with = "redact::secs")]
    pub lease: Duration,
    /// Refresh a token that expires within this margin.
    #[serde(with = "redact::secs")]
    pub token_refresh_margin: Duration,
    pub max_attempts: u32,
    /// Runs cut short by their worker's death a delivery may have before it is dead.
    pub max_interrupted_runs: u32,
    pub media: MediaFetchConfig,
    /// Deliveries of one platform one process runs at once.
    pub per_platform_concurrency: usize,
    /// How often a worker tells Redis it is alive.
    #[serde(with = "redact::secs")]
    pub heartbeat: Duration,
    /// Heartbeats a worker may miss before its queued jobs go to another worker.
    pub missed_heartbeats: usize,
    /// How often an idle worker looks for jobs.
    #[serde(serialize_with = "serialize_millis")]
    pub poll_interval: Duration,
    /// Waits before retry 1, 2, ... (the last repeats).
    pub retry_schedule_secs: Vec<u64>,
    /// Each wait varies by up to this fraction, so retries do not arrive together.
    pub retry_jitter: f64,
    #[serde(serialize_with = "serialize_millis")]
    pub sweep_interval: Duration,
    /// A delivery due this long and not running is pushed to Redis again.
    #[serde(with = "redact::secs")]
    pub redispatch_after: Duration,
    /// Lookups of unresolved publishes the sweeper runs at once.
    pub sweep_lookup_concurrency: usize,
    /// How long one round of the sweeper's lookups may take; what is left is looked up in
    /// the next round.
    #[serde(serialize_with = "serialize_millis")]
    pub sweep_lookup_budget: Duration,
    /// How long a stopping worker lets running deliveries finish.
    #[serde(with = "redact::secs")]
    pub shutdown_grace: Duration,
    /// What a publish whose outcome cannot be looked up becomes, unless its tenant says.
    pub unknown_outcome: UnknownOutcomePolicy,
    /// Pause between status polls of media and containers being processed.
    #[serde(serialize_with = "serialize_millis")]
    pub platform_poll_interval: Duration,
    /// How many pages of recent posts a lookup reads before it answers "inconclusive".
    pub lookup_max_pages: u32,
    /// How long a lookup may page back before it answers "inconclusive".
    #[serde(with = "redact::secs")]
    pub lookup_max_time: Duration,
    /// How recent an attempt of unknown outcome must be for an identical re-send to probe it
    /// where the platform cannot be searched (X, LinkedIn, Facebook refuse a recent identical
    /// post); older ones follow the unknown-outcome policy.
    #[serde(with = "redact::secs")]
    pub duplicate_probe_window: Duration,
    /// Per-process smoothing: requests per second to one account.
    pub per_account_per_second: u32,
    /// X's 15-minute limit of posts per account (the fleet-wide Redis limiter).
    pub x_posts_per_15min: u32,
    /// Where `herald work` serves `/metrics` and `/healthz`.
    pub metrics_addr: SocketAddr,
}

/// What happens to a publish whose outcome is unknown and cannot be looked up (Telegram).
/// Part of Herald's vocabulary, since a tenant can choose its own.
pub use herald_domain::UnknownOutcomePolicy;

#[derive(Debug, Clone, Serialize)]
pub struct MediaFetchConfig {
    #[serde(with = "redact::secs")]
    pub timeout: Duration,
    pub max_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutboundConfig {
    /// Hosts (`host`, `host:port`, `[v6]:port`) that may be reached although they are
    /// inward, each on exactly its listed port (a bare host: the scheme's default port).
    pub allow: herald_outbound::AllowList,
    /// Whether loopback (127.0.0.0/8, ::1, `localhost`) is reachable without listing when
    /// `env = "development"`, so the simulator and local receivers work. Never in production.
    pub allow_loopback_in_development: bool,
}

impl Config {
    /// The outbound guard's policy: the allow-list, and loopback in development if enabled.
    pub fn outbound_policy(&self) -> herald_outbound::Policy {
        herald_outbound::Policy::new(
            self.outbound.allow.clone(),
            self.env == Environment::Development && self.outbound.allow_loopback_in_development,
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LogConfig {
    pub format: LogFormat,
    pub filter: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Everything wrong with a configuration, one problem a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

/// One broken rule: which key, how to set it, what the rule is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub env: Option<String>,
    pub rule: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.key)?;
        if let Some(env) = &self.env {
            write!(f, " ({env})")?;
        }
        write!(f, ": {}", self.rule)
    }
}

/// Collects problems while a configuration is resolved. A problem names its key once; the
/// environment variable that sets the key is derived from it, so the two cannot disagree.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<Problem>);

impl Problems {
    pub(crate) fn push(&mut self, key: &str, rule: impl Into<String>) {
        self.0.push(Problem {
            key: key.to_owned(),
            env: env::name_of(key),
            rule: rule.into(),
        });
    }

    /// Records `rule` against `key` unless `ok`.
    pub(crate) fn require(&mut self, ok: bool, key: &str, rule: &str) {
        if !ok {
            self.push(key, rule);
        }
    }
}

impl Config {
    /// Loads from the defaults, `herald.toml` (or `HERALD_CONFIG`, or `file`), and the process
    /// environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// As [`Config::load`], with the environment given explicitly (tests).
    pub fn load_from(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        let file = file.map(Path::to_path_buf).or_else(|| {
            vars.iter()
                .find(|(k, _)| k == "HERALD_CONFIG")
                .map(|(_, v)| PathBuf::from(v))
        });
        let mut figment = Figment::from(Toml::string(DEFAULTS_TOML));
        let file = match file {
            Some(path) if !path.exists() => {
                return Err(ConfigError {
                    problems: vec![Problem {
                        key: "config file".into(),
                        env: Some("HERALD_CONFIG".into()),
                        rule: format!("{} does not exist", path.display()),
                    }],
                });
            }
            Some(path) => Some(path),
            None => Some(PathBuf::from("herald.toml")).filter(|path| path.exists()),
        };
        let schema = keys::Schema::new();
        let mut unknown = Vec::new();
        if let Some(path) = &file {
            figment = figment.merge(Toml::file(path));
            unknown.extend(unknown_file_keys(&schema, path));
        }
        unknown.extend(schema.check_env(&vars));
        let figment = env::merge(figment, &vars);
        let loaded = figment
            .extract_lossy::<RawConfig>()
            .map_err(|err| ConfigError {
                problems: err
                    .into_iter()
                    .map(|e| Problem {
                        key: if e.path.is_empty() {
                            "configuration".into()
                        } else {
                            e.path.join(".")
                        },
                        env: env::name_of(&e.path.join(".")),
                        rule: e.kind.to_string(),
                    })
                    .collect(),
            })
            .and_then(Config::from_raw);
        match loaded {
            Ok(config) if unknown.is_empty() => Ok(config),
            Ok(_) => Err(ConfigError { problems: unknown }),
            Err(mut err) => {
                unknown.append(&mut err.problems);
                Err(ConfigError { problems: unknown })
            }
        }
    }

    /// Resolves derived settings and checks every rule.
    pub fn from_raw(raw: RawConfig) -> Result<Config, ConfigError> {
        let mut problems = Problems::default();
        let env = raw.env;

        check_url_scheme(
            &mut problems,
            "database_url",
            raw.database_url.expose_secret(),
            &["postgres", "postgresql"],
        );
        check_url_scheme(
            &mut problems,
            "redis_url",
            raw.redis_url.expose_secret(),
            &["redis", "rediss"],
        );
        let prefix_ok = !raw.redis_prefix.is_empty()
            && raw.redis_prefix.len() <= 64
            && raw
                .redis_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'));
        problems.require(
            prefix_ok,
            "redis_prefix",
            "must be 1 to 64 characters of letters, digits, '-', '_', ':' or '.'",
        );
        let public_url = match BaseUrl::parse(&raw.public_url) {
            Ok(url) => url,
            Err(rule) => {
                problems.push("public_url", rule);
                BaseUrl::placeholder()
            }
        };
        let encryption_keys = raw
            .encryption_keys
            .filter(|keys| !keys.expose_secret().trim().is_empty());
        problems.require(
            env == Environment::Development || encryption_keys.is_some(),
            "encryption_keys",
            "is required when HERALD_ENV=production (tokens are sealed with it); \
             create one with `herald keys gen-encryption`",
        );

        let (api, worker) = (&raw.api, &raw.worker);
        let metrics_token = api
            .metrics_token
            .clone()
            .filter(|token| !token.expose_secret().trim().is_empty());
        let trusted_proxies =
            parse_nets(&mut problems, "api.trusted_proxies", &api.trusted_proxies);
        let checks: &[(bool, &str, &str)] = &[
            (
                api.webhooks.expiring_notice_days <= 365,
                "api.webhooks.expiring_notice_days",
                "must be at most 365 (0 turns connection.expiring off)",
            ),
            (
                api.allowed_return_origins
                    .iter()
                    .all(|o| parse_origin(o).is_some()),
                "api.allowed_return_origins",
                "each must be an origin, http(s)://host[:port], without path, query or user info",
            ),
            (
                raw.database_acquire_timeout_ms >= 100,
                "database_acquire_timeout_ms",
                "must be at least 100 milliseconds",
            ),
            (
                worker.sweep_lookup_concurrency > 0,
                "worker.sweep_lookup_concurrency",
                "must be at least 1",
            ),
            (
                worker.sweep_lookup_budget_ms >= 100,
                "worker.sweep_lookup_budget_ms",
                "must be at least 100 milliseconds",
            ),
            (
                api.max_schedule_ahead_days > 0,
                "api.max_schedule_ahead_days",
                "must be at least 1",
            ),
            (
                api.rate_limit_per_second > 0 && api.rate_limit_burst > 0,
                "api.rate_limit_per_second",
                "the rate and the burst must be at least 1",
            ),
            (api.max_targets > 0, "api.max_targets", "must be at least 1"),
            (
                api.key_cache_ttl_ms <= MAX_KEY_CACHE_TTL_MS,
                "api.key_cache_ttl_ms",
                "must be at most 5000 milliseconds (a revoked key works that long)",
            ),
            (
                api.key_cache_ttl_ms == 0 || api.key_cache_capacity > 0,
                "api.key_cache_capacity",
                "must be at least 1 while the key cache is on (api.key_cache_ttl_ms > 0)",
            ),
            (
                api.metrics_addr != Some(api.addr),
                "api.metrics_addr",
                "must differ from api.addr: it takes /metrics off the API's port",
            ),
            (
                metrics_token
                    .as_ref()
                    .is_none_or(|token| token.expose_secret().len() >= 16),
                "api.metrics_token",
                "must be at least 16 characters (generate one, e.g. `openssl rand -hex 32`)",
            ),
            (
                raw.media.max_video_bytes > 0,
                "media.max_video_bytes",
                "must be at least 1",
            ),
            (
                raw.media.retention_days > 0,
                "media.retention_days",
                "must be at least 1",
            ),
            (
                raw.media.max_pixels > 0,
                "media.max_pixels",
                "must be at least 1",
            ),
            (
                raw.media.url_ttl_secs > 0 && raw.media.url_ttl_secs <= raw.media.url_max_ttl_secs,
                "media.url_ttl_secs",
                "must be at least 1 and at most media.url_max_ttl_secs",
            ),
            (
                worker.concurrency > 0,
                "worker.concurrency",
                "must be at least 1",
            ),
            (
                worker.max_attempts > 0,
                "worker.max_attempts",
                "must be at least 1",
            ),
            (
                worker.max_interrupted_runs > 0,
                "worker.max_interrupted_runs",
                "must be at least 1",
            ),
            (
                worker.per_platform_concurrency > 0,
                "worker.per_platform_concurrency",
                "must be at least 1",
            ),
            (
                worker.heartbeat_secs > 0 && worker.missed_heartbeats > 0,
                "worker.heartbeat_secs",
                "the heartbeat and the missed heartbeats must be at least 1",
            ),
            (
                !worker.retry_schedule_secs.is_empty(),
                "worker.retry_schedule_secs",
                "needs at least one wait",
            ),
            (
                (0.0..=1.0).contains(&worker.retry_jitter),
                "worker.retry_jitter",
                "must be between 0 and 1",
            ),
            (
                worker.lease_secs >= 5,
                "worker.lease_secs",
                "must be at least 5 seconds",
            ),
            (
                worker.media.allow_hosts.is_none(),
                "worker.media.allow_hosts",
                "was removed: list the hosts in outbound.allow (HERALD_OUTBOUND__ALLOW) instead, \
                 as \"host\" or \"host:port\"; it covers media fetches and webhooks",
            ),
        ];
        for &(ok, key, rule) in checks {
            problems.require(ok, key, rule);
        }

        let mut allow = Vec::with_capacity(raw.outbound.allow.len());
        for entry in &raw.outbound.allow {
            match herald_outbound::AllowEntry::parse(entry) {
                Ok(entry) => allow.push(entry),
                Err(err) => problems.push("outbound.allow", err.to_string()),
            }
        }

        let s3 = resolve_s3(raw.media.s3, raw.media.store, env, &mut problems);
        let platforms = platforms::resolve(raw.platforms, env, &public_url, &mut problems);

        let allowed_return_origins = return_origins(&raw.api.allowed_return_origins, &public_url);
        if !problems.0.is_empty() {
            return Err(ConfigError {
                problems: problems.0,
            });
        }
        Ok(Config {
            env,
            database_url: raw.database_url,
            database_acquire_timeout: Duration::from_millis(raw.database_acquire_timeout_ms),
            redis_url: raw.redis_url,
            redis_prefix: raw.redis_prefix,
            public_url,
            encryption_keys,
            data_dir: raw.data_dir,
            api: ApiConfig {
                addr: raw.api.addr,
                max_schedule_ahead_days: raw.api.max_schedule_ahead_days,
                body_limit_bytes: raw.api.body_limit_bytes,
                json_limit_bytes: raw.api.json_limit_bytes,
                max_targets: raw.api.max_targets,
                rate_limit_per_second: raw.api.rate_limit_per_second,
                rate_limit_burst: raw.api.rate_limit_burst,
                oauth_state_ttl: Duration::from_secs(raw.api.oauth_state_ttl_secs),
                allowed_return_origins,
                events_poll: Duration::from_millis(raw.api.events_poll_ms.max(10)),
                max_event_streams_per_key: raw.api.max_event_streams_per_key,
                key_cache_ttl: Duration::from_millis(raw.api.key_cache_ttl_ms),
                key_cache_capacity: raw.api.key_cache_capacity,
                auth_failures_per_address_per_minute: raw.api.auth_failures_per_address_per_minute,
                auth_failures_per_minute: raw.api.auth_failures_per_minute,
                trusted_proxies,
                metrics_token,
                metrics_addr: raw.api.metrics_addr,
                webhooks: WebhooksConfig {
                    retry_schedule_secs: raw.api.webhooks.retry_schedule_secs,
                    timeout: Duration::from_secs(raw.api.webhooks.timeout_secs),
                    poll: Duration::from_millis(raw.api.webhooks.poll_ms.max(10)),
                    expiring_notice: Duration::from_secs(
                        raw.api.webhooks.expiring_notice_days.saturating_mul(86_400),
                    ),
                },
            },
            media: MediaConfig {
                store: raw.media.store,
                dir: raw.media.dir,
                max_bytes: raw.media.max_bytes,
                max_video_bytes: raw.media.max_video_bytes,
                retention_days: raw.media.retention_days,
                max_pixels: raw.media.max_pixels,
                url_ttl: Duration::from_secs(raw.media.url_ttl_secs),
                url_max_ttl: Duration::from_secs(raw.media.url_max_ttl_secs),
                s3,
            },
            worker: WorkerConfig {
                concurrency: raw.worker.concurrency,
                lease: Duration::from_secs(raw.worker.lease_secs),
                token_refresh_margin: Duration::from_secs(raw.worker.token_refresh_margin_secs),
                max_attempts: raw.worker.max_attempts,
                max_interrupted_runs: raw.worker.max_interrupted_runs,
                media: MediaFetchConfig {
                    timeout: Duration::from_secs(raw.worker.media.timeout_secs),
                    max_bytes: raw.worker.media.max_bytes,
                },
                per_platform_concurrency: raw.worker.per_platform_concurrency,
                heartbeat: Duration::from_secs(raw.worker.heartbeat_secs),
                missed_heartbeats: raw.worker.missed_heartbeats,
                poll_interval: Duration::from_millis(raw.worker.poll_interval_ms),
                retry_schedule_secs: raw.worker.retry_schedule_secs,
                retry_jitter: raw.worker.retry_jitter,
                sweep_interval: Duration::from_millis(raw.worker.sweep_interval_ms),
                redispatch_after: Duration::from_secs(raw.worker.redispatch_after_secs),
                sweep_lookup_concurrency: raw.worker.sweep_lookup_concurrency,
                sweep_lookup_budget: Duration::from_millis(raw.worker.sweep_lookup_budget_ms),
                shutdown_grace: Duration::from_secs(raw.worker.shutdown_grace_secs),
                unknown_outcome: raw.worker.unknown_outcome,
                platform_poll_interval: Duration::from_millis(raw.worker.platform_poll_interval_ms),
                lookup_max_pages: raw.worker.lookup_max_pages,
                lookup_max_time: Duration::from_secs(raw.worker.lookup_max_secs),
                duplicate_probe_window: Duration::from_secs(raw.worker.duplicate_probe_window_secs),
                per_account_per_second: raw.worker.per_account_per_second,
                x_posts_per_15min: raw.worker.x_posts_per_15min,
                metrics_addr: raw.worker.metrics_addr,
            },
            outbound: OutboundConfig {
                allow: herald_outbound::AllowList::new(allow),
                allow_loopback_in_development: raw.outbound.allow_loopback_in_development,
            },
            platforms,
            rules: raw.rules,
            log: LogConfig {
                format: raw.log.format.unwrap_or(match env {
                    Environment::Production => LogFormat::Json,
                    Environment::Development => LogFormat::Pretty,
                }),
                filter: raw.log.filter,
            },
        })
    }

    /// The effective configuration as TOML, in the configuration file's own key names and
    /// without any secret: what `herald config check` prints. It loads back as a
    /// configuration file (with the secrets, which a comment names, given again).
    pub fn to_redacted_toml(&self) -> String {
        show::to_toml(self)
            .unwrap_or_else(|err| format!("# configuration could not be shown: {err}\n"))
    }

    /// A Redis key under this deployment's prefix.
    pub fn redis_key(&self, key: &str) -> String {
        format!("{}:{key}", self.redis_prefix)
    }
}

/// The unknown keys of a configuration file. A file that cannot be read or parsed is
/// reported by the loader itself, with its line and column.
fn unknown_file_keys(schema: &keys::Schema, path: &Path) -> Vec<Problem> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .map(|table| {
            let mut problems = schema.check_file(&table);
            for problem in &mut problems {
                problem.key = format!("{} in {}", problem.key, path.display());
            }
            problems
        })
        .unwrap_or_default()
}

fn serialize_millis<S: serde::Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
}

/// The longest a valid key may be remembered: a revoked key keeps working that long.
const MAX_KEY_CACHE_TTL_MS: u64 = 5_000;

fn serialize_nets<S: serde::Serializer>(nets: &[IpNet], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(nets.iter().map(ToString::to_string))
}

/// IPs (`192.0.2.1`, `2001:db8::1`) and CIDRs (`10.0.0.0/8`); a lone IP is its own /32 or
/// /128.
fn parse_nets(problems: &mut Problems, key: &str, values: &[String]) -> Vec<IpNet> {
    let mut nets = Vec::with_capacity(values.len());
    for value in values {
        let value = value.trim();
        let parsed = value
            .parse::<IpNet>()
            .or_else(|_| value.parse::<std::net::IpAddr>().map(IpNet::from));
        match parsed {
            Ok(net) => nets.push(net.trunc()),
            Err(_) => problems.push(
                key,
                format!("`{value}` is not an IP address or a CIDR (e.g. 10.0.0.0/8)"),
            ),
        }
    }
    nets
}

/// The configured return origins, normalized; `public_url`'s origin when none are.
fn return_origins(configured: &[String], public_url: &BaseUrl) -> Vec<String> {
    let mut origins: Vec<String> = configured.iter().filter_map(|o| parse_origin(o)).collect();
    if origins.is_empty() {
        origins.extend(
            Url::parse(public_url.as_str())
                .ok()
                .and_then(|u| origin_of(&u)),
        );
    }
    origins.sort();
    origins.dedup();
    origins
}

/// A configured origin, normalized (`https://App.Example.com:443/` is
/// `https://app.example.com`); `None` when it is more than an origin (a path, a query, user
/// info) or not http(s).
fn parse_origin(value: &str) -> Option<String> {
    let url = Url::parse(value.trim()).ok()?;
    let bare = url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none();
    if !bare {
        return None;
    }
    origin_of(&url)
}

/// The origin of an http(s) URL as `scheme://host[:port]` (the default port left out), the
/// form [`ApiConfig::allowed_return_origins`] holds; `None` for other schemes.
pub fn origin_of(url: &Url) -> Option<String> {
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    Some(url.origin().ascii_serialization())
}

fn check_url_scheme(problems: &mut Problems, key: &str, value: &str, schemes: &[&str]) {
    match Url::parse(value) {
        Ok(url) if schemes.contains(&url.scheme()) => {}
        Ok(url) => problems.push(
            key,
            format!(
                "scheme `{}` is not supported; expected {}",
                url.scheme(),
                schemes.join(" or ")
            ),
        ),
        Err(err) => problems.push(key, format!("is not a valid URL ({err})")),
    }
}

/// An absolute http(s) URL with no query, fragment or trailing slash, so joining a path to it
/// is plain concatenation: `base.join("/2/tweets")`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct BaseUrl(String);

impl BaseUrl {
    pub fn parse(value: &str) -> Result<BaseUrl, String> {
        let url = Url::parse(value.trim())
            .map_err(|err| format!("`{value}` is not a valid URL ({err})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("`{value}` must be an http or https URL"));
        }
        if url.host_str().is_none() {
            return Err(format!("`{value}` has no host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("`{value}` must not have a query or fragment"));
        }
        Ok(BaseUrl(url.as_str().trim_end_matches('/').to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `path` must start with `/`.
    pub fn join(&self, path: &str) -> String {
        debug_assert!(path.starts_with('/'), "paths start with a slash: {path}");
        format!("{}{path}", self.0)
    }

    /// Stands in for an invalid URL while the remaining rules are checked; a configuration
    /// holding it is never returned.
    pub(crate) fn placeholder() -> BaseUrl {
        BaseUrl("http://invalid.invalid".to_owned())
    }
}

impl std::fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests;

/// The media bucket's settings, checked when `media.store = "s3"` (ignored otherwise): a
/// bucket name S3 accepts, an endpoint that is an https origin (plain http only to loopback
/// in development), a prefix of plain path segments, and static credentials whole or absent.
fn resolve_s3(
    raw: raw::RawS3,
    store: MediaStoreKind,
    env: Environment,
    problems: &mut Problems,
) -> S3Config {
    let non_empty = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    let secret =
        |value: Option<SecretString>| value.filter(|v| !v.expose_secret().trim().is_empty());
    let config = S3Config {
        bucket: non_empty(raw.bucket),
        region: non_empty(raw.region),
        endpoint: non_empty(raw.endpoint),
        prefix: non_empty(raw.prefix),
        access_key_id: non_empty(raw.access_key_id),
        secret_access_key: secret(raw.secret_access_key),
        session_token: secret(raw.session_token),
        allow_http: false,
    };
    if store != MediaStoreKind::S3 {
        return config;
    }
    match &config.bucket {
        None => problems.push("media.s3.bucket", "is required when media.store = \"s3\""),
        Some(bucket) => {
            let ok = (3..=63).contains(&bucket.len())
                && bucket
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
                && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
                && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
            problems.require(
                ok,
                "media.s3.bucket",
                "must be 3 to 63 lowercase letters, digits, '.' and '-', starting and ending \
                 with a letter or digit",
            );
        }
    }
    if let Some(region) = &config.region {
        problems.require(
            region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "media.s3.region",
            "must be a region name such as \"eu-west-1\"",
        );
    }
    let mut allow_http = false;
    if let Some(endpoint) = &config.endpoint {
        match Url::parse(endpoint) {
            Ok(url)
                if matches!(url.scheme(), "http" | "https")
                    && url.host().is_some()
                    && url.username().is_empty()
                    && url.password().is_none()
                    && url.query().is_none()
                    && matches!(url.path(), "" | "/") =>
            {
                if url.scheme() == "http" {
                    let loopback = match url.host() {
                        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                        Some(url::Host::Domain(name)) => name == "localhost",
                        None => false,
                    };
                    allow_http = loopback && env == Environment::Development;
                    problems.require(
                        allow_http,
                        "media.s3.endpoint",
                        "must be https: plain http is allowed only to a loopback endpoint \
                         (127.0.0.1, ::1, localhost) with env = \"development\"",
                    );
                }
            }
            _ => problems.push(
                "media.s3.endpoint",
                "must be an http(s) origin, scheme://host[:port], without user info, path or query",
            ),
        }
    }
    if let Some(prefix) = &config.prefix {
        let ok = prefix.trim_matches('/').split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        });
        problems.require(
            ok,
            "media.s3.prefix",
            "must be path segments of letters, digits, '-', '_' and '.', separated by '/' \
             (no '..')",
        );
    }
    problems.require(
        config.access_key_id.is_some() == config.secret_access_key.is_some(),
        if config.access_key_id.is_some() {
            "media.s3.secret_access_key"
        } else {
            "media.s3.access_key_id"
        },
        "media.s3.access_key_id and media.s3.secret_access_key are set together or not at all \
         (neither: the instance's role is used)",
    );
    problems.require(
        config.session_token.is_none() || config.access_key_id.is_some(),
        "media.s3.session_token",
        "needs media.s3.access_key_id and media.s3.secret_access_key",
    );
    S3Config {
        allow_http,
        ..config
    }
}
