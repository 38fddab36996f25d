//! Everything the worker needs to know, read once from the configuration. Tests build it
//! from a `Config` too and shorten what they must (leases, heartbeats, retry waits).

use std::collections::BTreeMap;
use std::time::Duration;

use herald_config::Config;
use herald_domain::rules::ContentRules;
use herald_domain::{DecodeLimits, UnknownOutcomePolicy};
use herald_queue::ConsumerSettings;

use herald_store::MediaStore;

use crate::retry::RetrySchedule;
use crate::webhooks::WebhookSettings;

/// The worker's settings. Build with [`WorkerSettings::from_config`].
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// This process' name in Redis and on leases: host name plus a random suffix, so two
    /// processes (or a restart of one) never share a name.
    pub name: String,
    pub concurrency: usize,
    pub per_platform_concurrency: usize,
    pub lease: Duration,
    /// Runs cut short by their worker's death a delivery may have before it is dead.
    pub max_interrupted_runs: i32,
    pub token_refresh_margin: Duration,
    pub retry: RetrySchedule,
    pub consumer: ConsumerSettings,
    pub sweep_interval: Duration,
    pub redispatch_after: Duration,
    /// Lookups of unresolved publishes the sweeper runs at once, and how long one round of
    /// them may take.
    pub sweep_lookup_concurrency: usize,
    pub sweep_lookup_budget: Duration,
    pub shutdown_grace: Duration,
    pub unknown_outcome: UnknownOutcomePolicy,
    /// How recent an attempt of unknown outcome must be to be probed by an identical re-send
    /// where the platform cannot be searched (see docs/exactly-once.md).
    pub duplicate_probe_window: Duration,
    /// The longest a job that arrived early (Redis keeps whole seconds) waits in place for
    /// its delivery's `run_at`; later ones are pushed back to Redis.
    pub early_wait: Duration,
    /// How journal writes, outcomes and claims are grouped into one commit
    /// (`crate::group`).
    pub group: crate::group::GroupSettings,
    pub media: MediaSettings,
    /// Deleting expired media (`media.retention_days`).
    pub retention: crate::retention::RetentionSettings,
    pub limits: LimitSettings,
    pub rules: ContentRules,
    pub webhooks: WebhookSettings,
}

/// Fetching media.
#[derive(Debug, Clone)]
pub struct MediaSettings {
    pub timeout: Duration,
    pub max_bytes: u64,
    /// What image URLs may reach (`outbound` in the configuration).
    pub outbound: herald_outbound::Policy,
    /// Herald's public base URL, for signed URLs of stored media (Instagram and Threads
    /// fetch images themselves).
    pub public_url: String,
    pub url_ttl: Duration,
    /// The longest lifetime of a signed URL (`media.url_max_ttl_secs`).
    pub url_max_ttl: Duration,
    /// What decoding a fetched image may cost (`media.max_pixels`).
    pub decode: DecodeLimits,
    /// The media store uploads are read from, and prepared copies written to; `None` only
    /// if the configured one cannot be built (`herald work` refuses to start then, naming
    /// why: see [`media_store`]).
    pub store: Option<MediaStore>,
    /// The largest video fetched by URL (`media.max_video_bytes`).
    pub max_video_bytes: u64,
    /// How long prepared copies, and images fetched by URL that they are made from, are
    /// kept (`media.retention_days`).
    pub retention: Duration,
    /// Where videos are spooled while a run uses them: one directory per run, deleted when
    /// it ends.
    pub spool_dir: std::path::PathBuf,
}

/// The limits the rate gates enforce.
#[derive(Debug, Clone)]
pub struct LimitSettings {
    /// X posts per rolling window, by tier.
    pub x_tiers: BTreeMap<String, u32>,
    pub x_default_tier: String,
    pub x_window: Duration,
    pub x_posts_per_15min: u32,
    pub instagram_quota: Option<(u32, Duration)>,
    pub threads_quota: (u32, Duration),
    pub telegram_per_chat_per_second: u32,
    pub telegram_per_bot_per_second: u32,
    pub per_account_per_second: u32,
}

impl WorkerSettings {
    pub fn from_config(config: &Config) -> Self {
        let worker = &config.worker;
        let platforms = &config.platforms;
        Self {
            name: unique_name(),
            concurrency: worker.concurrency,
            per_platform_concurrency: worker.per_platform_concurrency,
            lease: worker.lease,
            max_interrupted_runs: i32::try_from(worker.max_interrupted_runs).unwrap_or(i32::MAX),
            token_refresh_margin: worker.token_refresh_margin,
            retry: RetrySchedule::new(
                worker
                    .retry_schedule_secs
                    .iter()
                    .map(|s| Duration::from_secs(*s))
                    .collect(),
                worker.retry_jitter,
            ),
            consumer: ConsumerSettings {
                heartbeat: worker.heartbeat,
                missed_heartbeats: worker.missed_heartbeats,
                batch_size: 32,
                poll_interval: worker.poll_interval,
            },
            sweep_interval: worker.sweep_interval,
            redispatch_after: worker.redispatch_after,
            sweep_lookup_concurrency: worker.sweep_lookup_concurrency,
            sweep_lookup_budget: worker.sweep_lookup_budget,
            shutdown_grace: worker.shutdown_grace,
            unknown_outcome: worker.unknown_outcome,
            duplicate_probe_window: worker.duplicate_probe_window,
            early_wait: Duration::from_secs(3),
            group: crate::group::GroupSettings::default(),
            media: MediaSettings {
                timeout: worker.media.timeout,
                max_bytes: worker.media.max_bytes,
                outbound: config.outbound_policy(),
                public_url: config.public_url.to_string(),
                url_ttl: config.media.url_ttl,
                url_max_ttl: config.media.url_max_ttl,
                decode: DecodeLimits::for_pixels(config.media.max_pixels),
                store: media_store(config).ok(),
                max_video_bytes: config.media.max_video_bytes,
                retention: Duration::from_secs(u64::from(config.media.retention_days) * 86_400),
                spool_dir: std::env::temp_dir().join("herald-media-spool"),
            },
            retention: crate::retention::RetentionSettings {
                retention: Duration::from_secs(u64::from(config.media.retention_days) * 86_400),
                interval: Duration::from_secs(300),
                batch: 100,
            },
            limits: LimitSettings {
                x_tiers: platforms.twitter.tiers.clone(),
                x_default_tier: platforms.twitter.default_tier.clone(),
                x_window: platforms.twitter.window,
                x_posts_per_15min: worker.x_posts_per_15min,
                instagram_quota: platforms
                    .instagram
                    .posts_per_window
                    .zip(platforms.instagram.window),
                threads_quota: (platforms.threads.posts_per_window, platforms.threads.window),
                telegram_per_chat_per_second: platforms.telegram.per_chat_per_second,
                telegram_per_bot_per_second: platforms.telegram.per_bot_per_second,
                per_account_per_second: worker.per_account_per_second,
            },
            rules: config.rules.clone(),
            webhooks: WebhookSettings {
                poll: config.api.webhooks.poll,
                timeout: config.api.webhooks.timeout,
                expiring_notice: config.api.webhooks.expiring_notice,
                retry_schedule: config
                    .api
                    .webhooks
                    .retry_schedule_secs
                    .iter()
                    .map(|s| Duration::from_secs(*s))
                    .collect(),
                outbound: config.outbound_policy(),
            },
        }
    }
}

/// The media store the configuration names (`media.store`): the local directory or the S3
/// bucket, built as the API builds it ([`MediaStore::from_config`]).
pub fn media_store(config: &Config) -> Result<MediaStore, herald_store::MediaStoreError> {
    MediaStore::from_config(&config.media)
}

/// The host name and a random suffix: unique per process, and recognisable in Redis and on
/// leases.
pub fn unique_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "herald".to_owned());
    format!("{host}-{:08x}", rand::random::<u32>())
}
