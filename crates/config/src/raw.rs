//! The configuration exactly as the layers give it, before anything is derived or checked.
//! Every key has a value in `config/herald.default.toml`, except those that are `Option`
//! because "unset" means something (derive it, or fall back to another setting).

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use crate::{Environment, LogFormat};

#[derive(Debug, Deserialize)]
pub struct RawConfig {
    pub env: Environment,
    pub database_url: SecretString,
    pub database_acquire_timeout_ms: u64,
    pub redis_url: SecretString,
    pub redis_prefix: String,
    pub public_url: String,
    #[serde(default)]
    pub encryption_keys: Option<SecretString>,
    pub data_dir: PathBuf,
    pub api: RawApi,
    pub media: RawMedia,
    pub worker: RawWorker,
    pub outbound: RawOutbound,
    pub platforms: RawPlatforms,
    /// Content rules: an overlay on the documented defaults, key by key.
    #[serde(default)]
    pub rules: herald_domain::rules::ContentRules,
    pub log: RawLog,
}

#[derive(Debug, Deserialize)]
pub struct RawApi {
    pub addr: SocketAddr,
    pub max_schedule_ahead_days: u32,
    pub body_limit_bytes: usize,
    pub json_limit_bytes: usize,
    pub max_targets: usize,
    pub rate_limit_per_second: u32,
    pub rate_limit_burst: u32,
    pub oauth_state_ttl_secs: u64,
    pub allowed_return_origins: Vec<String>,
    pub events_poll_ms: u64,
    pub max_event_streams_per_key: usize,
    pub key_cache_ttl_ms: u64,
    pub key_cache_capacity: usize,
    pub auth_failures_per_address_per_minute: u32,
    pub auth_failures_per_minute: u32,
    pub trusted_proxies: Vec<String>,
    /// Unset: `/metrics` needs no token (and is off the public port in production).
    #[serde(default)]
    pub metrics_token: Option<SecretString>,
    /// Unset: `/metrics` is served on the API's own port.
    #[serde(default)]
    pub metrics_addr: Option<SocketAddr>,
    pub webhooks: RawWebhooks,
}

#[derive(Debug, Deserialize)]
pub struct RawWebhooks {
    pub retry_schedule_secs: Vec<u64>,
    pub timeout_secs: u64,
    pub poll_ms: u64,
    pub expiring_notice_days: u64,
}

#[derive(Debug, Deserialize)]
pub struct RawMedia {
    pub store: crate::MediaStoreKind,
    pub dir: PathBuf,
    pub max_bytes: u64,
    pub max_video_bytes: u64,
    pub retention_days: u32,
    pub max_pixels: u64,
    pub url_ttl_secs: u64,
    pub url_max_ttl_secs: u64,
    #[serde(default)]
    pub s3: RawS3,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawS3 {
    #[serde(default)]
    pub bucket: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub access_key_id: Option<String>,
    #[serde(default)]
    pub secret_access_key: Option<SecretString>,
    #[serde(default)]
    pub session_token: Option<SecretString>,
}

#[derive(Debug, Deserialize)]
pub struct RawWorker {
    pub concurrency: usize,
    pub lease_secs: u64,
    pub token_refresh_margin_secs: u64,
    pub max_attempts: u32,
    pub max_interrupted_runs: u32,
    pub media: RawMediaFetch,
    pub per_platform_concurrency: usize,
    pub heartbeat_secs: u64,
    pub missed_heartbeats: usize,
    pub poll_interval_ms: u64,
    pub retry_schedule_secs: Vec<u64>,
    pub retry_jitter: f64,
    pub sweep_interval_ms: u64,
    pub redispatch_after_secs: u64,
    pub sweep_lookup_concurrency: usize,
    pub sweep_lookup_budget_ms: u64,
    pub shutdown_grace_secs: u64,
    pub unknown_outcome: crate::UnknownOutcomePolicy,
    pub platform_poll_interval_ms: u64,
    pub lookup_max_pages: u32,
    pub lookup_max_secs: u64,
    pub duplicate_probe_window_secs: u64,
    pub per_account_per_second: u32,
    pub x_posts_per_15min: u32,
    pub metrics_addr: SocketAddr,
}

#[derive(Debug, Deserialize)]
pub struct RawMediaFetch {
    pub timeout_secs: u64,
    pub max_bytes: u64,
    /// Removed in favour of `outbound.allow`; present only to refuse a configuration that
    /// still sets it.
    #[serde(default)]
    pub allow_hosts: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Deserialize)]
pub struct RawOutbound {
    pub allow: Vec<String>,
    pub allow_loopback_in_development: bool,
}

#[derive(Debug, Deserialize)]
pub struct RawLog {
    #[serde(default)]
    pub format: Option<LogFormat>,
    pub filter: String,
}

#[derive(Debug, Deserialize)]
pub struct RawPlatforms {
    /// `HERALD_PLATFORM_BASE_URL`: point every platform at a simulator.
    #[serde(default)]
    pub base_url: Option<String>,
    pub twitter: RawTwitter,
    pub linkedin: RawLinkedin,
    pub facebook: RawMeta,
    pub instagram: RawMeta,
    pub threads: RawThreads,
    pub telegram: RawTelegram,
}

/// An OAuth app's credentials, each optional: unset ones are derived or reported.
#[derive(Debug, Default, Deserialize)]
pub struct RawApp {
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    #[serde(default)]
    pub redirect_uri: Option<String>,
}

/// Where a platform lives: the browser-facing host (OAuth dialogs) and the API host.
#[derive(Debug, Default, Deserialize)]
pub struct RawUrls {
    #[serde(default)]
    pub web_url: Option<String>,
    #[serde(default)]
    pub api_url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RawTwitter {
    #[serde(flatten)]
    pub app: RawApp,
    #[serde(flatten)]
    pub urls: RawUrls,
    pub scopes: Vec<String>,
    pub default_tier: String,
    /// Posts per 24-hour window by API tier (by default: free 17, basic 100).
    pub tiers: std::collections::BTreeMap<String, u32>,
    pub window_secs: u64,
}

#[derive(Debug, Deserialize)]
pub struct RawLinkedin {
    #[serde(flatten)]
    pub app: RawApp,
    #[serde(default)]
    pub company: RawApp,
    #[serde(flatten)]
    pub urls: RawUrls,
    pub personal_scopes: Vec<String>,
    pub company_scopes: Vec<String>,
    pub version: String,
    pub flow: crate::LinkedinFlow,
    pub image_wait_secs: u64,
    pub partner_app: bool,
}

#[derive(Debug, Deserialize)]
pub struct RawMeta {
    #[serde(flatten)]
    pub app: RawApp,
    #[serde(flatten)]
    pub urls: RawUrls,
    pub graph_version: String,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub posts_per_window: Option<u32>,
    #[serde(default)]
    pub window_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct RawThreads {
    #[serde(flatten)]
    pub app: RawApp,
    #[serde(flatten)]
    pub urls: RawUrls,
    pub api_version: String,
    pub scopes: Vec<String>,
    pub posts_per_window: u32,
    pub window_secs: u64,
}

#[derive(Debug, Deserialize)]
pub struct RawTelegram {
    #[serde(default)]
    pub api_url: Option<String>,
    pub per_chat_per_second: u32,
    pub per_bot_per_second: u32,
}
