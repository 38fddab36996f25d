//! The effective configuration written back as a configuration file: the file's own key
//! names (`worker.lease_secs`, not the `Duration` it becomes), every derived value spelt
//! out, and no secret. Loading the result (with the secrets given again) gives the same
//! configuration, so `herald config check > herald.toml` is a way to pin one.

use serde::Serialize;
use toml::{Table, Value};

use crate::platforms::{MetaConfig, OAuthApp};
use crate::{Config, env, redact};

/// The effective configuration as TOML, with a header naming the secrets left out.
pub(crate) fn to_toml(config: &Config) -> Result<String, toml::ser::Error> {
    let mut secrets = Vec::new();
    let table = file_table(config, &mut secrets)?;
    let mut out = String::from(
        "# The effective configuration; it loads back as a configuration file (--config).\n\
         # Passwords in database_url and redis_url read [redacted].\n",
    );
    if !secrets.is_empty() {
        out.push_str(
            "# These secrets are set but not shown; give them again, e.g. from the environment:\n",
        );
        for key in &secrets {
            match env::name_of(key) {
                Some(name) => out.push_str(&format!("#   {key} ({name})\n")),
                None => out.push_str(&format!("#   {key}\n")),
            }
        }
    }
    out.push('\n');
    out.push_str(&toml::to_string_pretty(&table)?);
    Ok(out)
}

/// A table being filled in, and where its secrets are noted.
struct Section<'a> {
    path: String,
    table: Table,
    secrets: &'a mut Vec<String>,
}

impl<'a> Section<'a> {
    fn new(path: &str, secrets: &'a mut Vec<String>) -> Self {
        Section {
            path: path.to_owned(),
            table: Table::new(),
            secrets,
        }
    }

    fn put(&mut self, key: &str, value: impl Serialize) -> Result<(), toml::ser::Error> {
        self.table.insert(key.to_owned(), Value::try_from(value)?);
        Ok(())
    }

    fn put_opt(
        &mut self,
        key: &str,
        value: Option<impl Serialize>,
    ) -> Result<(), toml::ser::Error> {
        match value {
            Some(value) => self.put(key, value),
            None => Ok(()),
        }
    }

    /// A secret is never written, only noted as set.
    fn secret(&mut self, key: &str, set: bool) {
        if set {
            self.secrets.push(join(&self.path, key));
        }
    }

    fn sub(&mut self, key: &str, fill: impl FnOnce(&mut Section<'_>) -> SerResult) -> SerResult {
        let mut section = Section::new(&join(&self.path, key), self.secrets);
        fill(&mut section)?;
        let table = section.table;
        self.table.insert(key.to_owned(), Value::Table(table));
        Ok(())
    }

    /// An OAuth app, flat in its platform's table as in the file. The simulator's
    /// development app is left out: it is what an unset app resolves to again.
    ///
    /// Instagram and Threads fall back to Facebook's credentials when they have none of
    /// their own: `shared` is Facebook's app, and credentials equal to it are left out so
    /// they keep following it.
    fn app(&mut self, app: Option<&OAuthApp>, shared: Option<&OAuthApp>) -> SerResult {
        use secrecy::ExposeSecret;

        let Some(app) = app.filter(|app| !app.development_default) else {
            return Ok(());
        };
        let inherited = shared.is_some_and(|shared| {
            shared.client_id == app.client_id
                && shared.client_secret.expose_secret() == app.client_secret.expose_secret()
        });
        if !inherited {
            self.put("client_id", &app.client_id)?;
            self.secret("client_secret", true);
        }
        self.put("redirect_uri", &app.redirect_uri)
    }
}

type SerResult = Result<(), toml::ser::Error>;

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn millis(value: std::time::Duration) -> u64 {
    u64::try_from(value.as_millis()).unwrap_or(u64::MAX)
}

fn file_table(config: &Config, secrets: &mut Vec<String>) -> Result<Table, toml::ser::Error> {
    use secrecy::ExposeSecret;

    let mut root = Section::new("", secrets);
    root.put("env", config.env)?;
    root.put(
        "database_url",
        redact::redact_url(config.database_url.expose_secret()),
    )?;
    root.put(
        "database_acquire_timeout_ms",
        millis(config.database_acquire_timeout),
    )?;
    root.put(
        "redis_url",
        redact::redact_url(config.redis_url.expose_secret()),
    )?;
    root.put("redis_prefix", &config.redis_prefix)?;
    root.put("public_url", config.public_url.as_str())?;
    root.secret("encryption_keys", config.encryption_keys.is_some());
    root.put("data_dir", &config.data_dir)?;

    let api = &config.api;
    root.sub("api", |s| {
        s.put("addr", api.addr)?;
        s.put("max_schedule_ahead_days", api.max_schedule_ahead_days)?;
        s.put("body_limit_bytes", api.body_limit_bytes)?;
        s.put("json_limit_bytes", api.json_limit_bytes)?;
        s.put("max_targets", api.max_targets)?;
        s.put("rate_limit_per_second", api.rate_limit_per_second)?;
        s.put("rate_limit_burst", api.rate_limit_burst)?;
        s.put("oauth_state_ttl_secs", api.oauth_state_ttl.as_secs())?;
        s.put("allowed_return_origins", &api.allowed_return_origins)?;
        s.put("events_poll_ms", millis(api.events_poll))?;
        s.put("max_event_streams_per_key", api.max_event_streams_per_key)?;
        s.put("key_cache_ttl_ms", millis(api.key_cache_ttl))?;
        s.put("key_cache_capacity", api.key_cache_capacity)?;
        s.put(
            "auth_failures_per_address_per_minute",
            api.auth_failures_per_address_per_minute,
        )?;
        s.put("auth_failures_per_minute", api.auth_failures_per_minute)?;
        let proxies: Vec<String> = api.trusted_proxies.iter().map(|n| n.to_string()).collect();
        s.put("trusted_proxies", proxies)?;
        s.secret("metrics_token", api.metrics_token.is_some());
        s.put_opt("metrics_addr", api.metrics_addr)?;
        s.sub("webhooks", |s| {
            s.put("retry_schedule_secs", &api.webhooks.retry_schedule_secs)?;
            s.put("timeout_secs", api.webhooks.timeout.as_secs())?;
            s.put("poll_ms", millis(api.webhooks.poll))
        })
    })?;

    let media = &config.media;
    root.sub("media", |s| {
        s.put("store", media.store)?;
        s.put("dir", &media.dir)?;
        s.put("max_bytes", media.max_bytes)?;
        s.put("max_video_bytes", media.max_video_bytes)?;
        s.put("retention_days", media.retention_days)?;
        s.put("max_pixels", media.max_pixels)?;
        s.put("url_ttl_secs", media.url_ttl.as_secs())?;
        s.put("url_max_ttl_secs", media.url_max_ttl.as_secs())?;
        s.sub("s3", |s| {
            s.put_opt("bucket", media.s3.bucket.as_ref())?;
            s.put_opt("region", media.s3.region.as_ref())?;
            s.put_opt("endpoint", media.s3.endpoint.as_ref())?;
            s.put_opt("prefix", media.s3.prefix.as_ref())?;
            s.put_opt("access_key_id", media.s3.access_key_id.as_ref())?;
            s.secret("secret_access_key", media.s3.secret_access_key.is_some());
            s.secret("session_token", media.s3.session_token.is_some());
            Ok(())
        })
    })?;

    let worker = &config.worker;
    root.sub("worker", |s| {
        s.put("concurrency", worker.concurrency)?;
        s.put("lease_secs", worker.lease.as_secs())?;
        s.put(
            "token_refresh_margin_secs",
            worker.token_refresh_margin.as_secs(),
        )?;
        s.put("max_attempts", worker.max_attempts)?;
        s.put("max_interrupted_runs", worker.max_interrupted_runs)?;
        s.put("per_platform_concurrency", worker.per_platform_concurrency)?;
        s.put("heartbeat_secs", worker.heartbeat.as_secs())?;
        s.put("missed_heartbeats", worker.missed_heartbeats)?;
        s.put("poll_interval_ms", millis(worker.poll_interval))?;
        s.put("retry_schedule_secs", &worker.retry_schedule_secs)?;
        s.put("retry_jitter", worker.retry_jitter)?;
        s.put("sweep_interval_ms", millis(worker.sweep_interval))?;
        s.put("redispatch_after_secs", worker.redispatch_after.as_secs())?;
        s.put("sweep_lookup_concurrency", worker.sweep_lookup_concurrency)?;
        s.put("sweep_lookup_budget_ms", millis(worker.sweep_lookup_budget))?;
        s.put("shutdown_grace_secs", worker.shutdown_grace.as_secs())?;
        s.put("unknown_outcome", worker.unknown_outcome)?;
        s.put(
            "platform_poll_interval_ms",
            millis(worker.platform_poll_interval),
        )?;
        s.put("lookup_max_pages", worker.lookup_max_pages)?;
        s.put("lookup_max_secs", worker.lookup_max_time.as_secs())?;
        s.put(
            "duplicate_probe_window_secs",
            worker.duplicate_probe_window.as_secs(),
        )?;
        s.put("per_account_per_second", worker.per_account_per_second)?;
        s.put("x_posts_per_15min", worker.x_posts_per_15min)?;
        s.put("metrics_addr", worker.metrics_addr)?;
        s.sub("media", |s| {
            s.put("timeout_secs", worker.media.timeout.as_secs())?;
            s.put("max_bytes", worker.media.max_bytes)
        })
    })?;

    root.sub("outbound", |s| {
        s.put("allow", &config.outbound.allow)?;
        s.put(
            "allow_loopback_in_development",
            config.outbound.allow_loopback_in_development,
        )
    })?;

    root.sub("log", |s| {
        s.put("format", config.log.format)?;
        s.put("filter", &config.log.filter)
    })?;

    let platforms = &config.platforms;
    root.sub("platforms", |s| {
        let twitter = &platforms.twitter;
        s.sub("twitter", |s| {
            s.app(twitter.app.as_ref(), None)?;
            s.put("web_url", twitter.web_url.as_str())?;
            s.put("api_url", twitter.api_url.as_str())?;
            s.put("scopes", &twitter.scopes)?;
            s.put("default_tier", &twitter.default_tier)?;
            s.put("tiers", &twitter.tiers)?;
            s.put("window_secs", twitter.window.as_secs())
        })?;
        let linkedin = &platforms.linkedin;
        s.sub("linkedin", |s| {
            s.app(linkedin.personal.as_ref(), None)?;
            s.put("web_url", linkedin.web_url.as_str())?;
            s.put("api_url", linkedin.api_url.as_str())?;
            s.put("personal_scopes", &linkedin.personal_scopes)?;
            s.put("company_scopes", &linkedin.company_scopes)?;
            s.put("version", &linkedin.version)?;
            s.put("flow", linkedin.flow)?;
            s.put("image_wait_secs", linkedin.image_wait.as_secs())?;
            s.put("partner_app", linkedin.partner_app)?;
            s.sub("company", |s| s.app(linkedin.company.as_ref(), None))
        })?;
        let facebook_app = platforms.facebook.app.as_ref();
        s.sub("facebook", |s| meta(s, &platforms.facebook, None))?;
        s.sub("instagram", |s| meta(s, &platforms.instagram, facebook_app))?;
        let threads = &platforms.threads;
        s.sub("threads", |s| {
            s.app(threads.app.as_ref(), facebook_app)?;
            s.put("web_url", threads.web_url.as_str())?;
            s.put("api_url", threads.api_url.as_str())?;
            s.put("api_version", &threads.api_version)?;
            s.put("scopes", &threads.scopes)?;
            s.put("posts_per_window", threads.posts_per_window)?;
            s.put("window_secs", threads.window.as_secs())
        })?;
        let telegram = &platforms.telegram;
        s.sub("telegram", |s| {
            s.put("api_url", telegram.api_url.as_str())?;
            s.put("per_chat_per_second", telegram.per_chat_per_second)?;
            s.put("per_bot_per_second", telegram.per_bot_per_second)
        })
    })?;

    root.put("rules", &config.rules)?;
    Ok(root.table)
}

fn meta(s: &mut Section<'_>, meta: &MetaConfig, shared: Option<&OAuthApp>) -> SerResult {
    s.app(meta.app.as_ref(), shared)?;
    s.put("web_url", meta.web_url.as_str())?;
    s.put("api_url", meta.api_url.as_str())?;
    s.put("graph_version", &meta.graph_version)?;
    s.put("scopes", &meta.scopes)?;
    s.put_opt("posts_per_window", meta.posts_per_window)?;
    s.put_opt("window_secs", meta.window.map(|w| w.as_secs()))
}
