use super::*;

fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::load_from(
        Some(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../config/herald.default.toml"
        ))),
        vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    )
}

fn problem_keys(err: &ConfigError) -> Vec<&str> {
    err.problems.iter().map(|p| p.key.as_str()).collect()
}

#[test]
fn defaults_work_on_a_developer_machine() {
    let config = load(&[]).unwrap();
    assert_eq!(config.env, Environment::Development);
    assert_eq!(
        config.database_url.expose_secret(),
        "postgres://postgres@127.0.0.1:5432/herald"
    );
    assert_eq!(config.redis_url.expose_secret(), "redis://127.0.0.1:6379");
    assert_eq!(config.public_url.as_str(), "http://127.0.0.1:8080");
    assert_eq!(
        config.platforms.twitter.api_url.as_str(),
        "https://api.x.com"
    );
    assert_eq!(config.platforms.twitter.tiers["free"], 17);
    assert_eq!(config.worker.metrics_addr.to_string(), "127.0.0.1:9464");
    assert_eq!(
        config.database_acquire_timeout,
        Duration::from_millis(1_500)
    );
    assert_eq!(config.worker.sweep_lookup_concurrency, 8);
    assert_eq!(config.worker.sweep_lookup_budget, Duration::from_secs(5));
    let twitter = config.platforms.twitter.app.as_ref().unwrap();
    assert!(twitter.development_default);
    assert_eq!(twitter.client_id, "herald-dev-twitter");
    assert_eq!(
        twitter.redirect_uri,
        "http://127.0.0.1:8080/api/social/twitter/callback"
    );
}

#[test]
fn the_environment_overrides_the_defaults_file() {
    let config = load(&[
        ("DATABASE_URL", "postgres://app@db:5432/herald_prod"),
        ("HERALD_WORKER__CONCURRENCY", "3"),
        ("HERALD_REDIS_PREFIX", "staging"),
        ("HERALD_OUTBOUND__ALLOW", "[\"127.0.0.1:9400\", \"sim\"]"),
        ("HERALD_PLATFORMS__LINKEDIN__PARTNER_APP", "true"),
        ("HERALD_WORKER__METRICS_ADDR", "0.0.0.0:9100"),
    ])
    .unwrap();
    assert_eq!(
        config.database_url.expose_secret(),
        "postgres://app@db:5432/herald_prod"
    );
    assert_eq!(config.worker.concurrency, 3);
    assert_eq!(config.redis_prefix, "staging");
    assert_eq!(config.redis_key("queue"), "staging:queue");
    let allowed = |u: &str| config.outbound.allow.allows(&Url::parse(u).expect("a URL"));
    assert!(allowed("http://127.0.0.1:9400/a.png"));
    assert!(allowed("https://sim/hook"));
    assert!(!allowed("http://127.0.0.1:9401/a.png"));
    assert!(config.platforms.linkedin.partner_app);
    assert_eq!(config.worker.metrics_addr.to_string(), "0.0.0.0:9100");
}

#[test]
fn a_config_file_sits_between_the_defaults_and_the_environment() {
    let dir = std::env::temp_dir().join(format!("herald-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("herald.toml");
    std::fs::write(
        &file,
        "redis_prefix = \"from-file\"\n[worker]\nconcurrency = 5\nmax_attempts = 4\n",
    )
    .unwrap();
    let config = Config::load_from(
        Some(&file),
        [("HERALD_WORKER__CONCURRENCY".to_owned(), "7".to_owned())],
    )
    .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        config.redis_prefix, "from-file",
        "the file overrides the defaults"
    );
    assert_eq!(config.worker.max_attempts, 4);
    assert_eq!(
        config.worker.concurrency, 7,
        "the environment overrides the file"
    );
}

#[test]
fn a_missing_config_file_is_named() {
    let err = Config::load_from(Some(Path::new("/nonexistent/herald.toml")), []).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/herald.toml"),
        "{err}"
    );
}

#[test]
fn the_spec_names_set_platform_credentials_and_numeric_ids_stay_strings() {
    let config = load(&[
        ("TWITTER_CLIENT_ID", "tw-id"),
        ("TWITTER_CLIENT_SECRET", "tw-secret"),
        ("FACEBOOK_CLIENT_ID", "1234567890"),
        ("FACEBOOK_CLIENT_SECRET", "fb-secret"),
        (
            "FACEBOOK_REDIRECT_URI",
            "https://herald.example.com/api/social/facebook/callback",
        ),
    ])
    .unwrap();
    let twitter = config.platforms.twitter.app.unwrap();
    assert_eq!(twitter.client_id, "tw-id");
    assert_eq!(twitter.client_secret.expose_secret(), "tw-secret");
    assert!(!twitter.development_default);
    let facebook = config.platforms.facebook.app.unwrap();
    assert_eq!(facebook.client_id, "1234567890");
    assert_eq!(
        facebook.redirect_uri,
        "https://herald.example.com/api/social/facebook/callback"
    );
}

#[test]
fn instagram_and_threads_fall_back_to_the_facebook_app() {
    let config = load(&[
        ("FACEBOOK_CLIENT_ID", "meta-app"),
        ("FACEBOOK_CLIENT_SECRET", "meta-secret"),
        ("THREADS_CLIENT_ID", "threads-app"),
        ("THREADS_CLIENT_SECRET", "threads-secret"),
    ])
    .unwrap();
    let instagram = config.platforms.instagram.app.unwrap();
    assert_eq!(instagram.client_id, "meta-app");
    assert_eq!(instagram.client_secret.expose_secret(), "meta-secret");
    assert_eq!(
        instagram.redirect_uri, "http://127.0.0.1:8080/api/social/instagram/callback",
        "the redirect URI is Instagram's own callback"
    );
    assert_eq!(
        config.platforms.threads.app.unwrap().client_id,
        "threads-app"
    );
}

#[test]
fn one_base_url_points_every_platform_at_the_simulator() {
    let config = load(&[("HERALD_PLATFORM_BASE_URL", "http://127.0.0.1:9400/")]).unwrap();
    let p = &config.platforms;
    let urls = [
        (&p.twitter.web_url, "/x"),
        (&p.twitter.api_url, "/x"),
        (&p.linkedin.web_url, "/linkedin"),
        (&p.linkedin.api_url, "/linkedin"),
        (&p.facebook.web_url, "/facebook"),
        (&p.facebook.api_url, "/graph"),
        (&p.instagram.web_url, "/facebook"),
        (&p.instagram.api_url, "/graph"),
        (&p.threads.web_url, "/threads"),
        (&p.threads.api_url, "/threads"),
        (&p.telegram.api_url, "/telegram"),
    ];
    for (url, prefix) in urls {
        assert_eq!(url.as_str(), format!("http://127.0.0.1:9400{prefix}"));
    }
    assert_eq!(
        p.twitter.api_url.join("/2/tweets"),
        "http://127.0.0.1:9400/x/2/tweets"
    );
}

#[test]
fn an_explicit_platform_url_wins_over_the_base_url() {
    let config = load(&[
        ("HERALD_PLATFORM_BASE_URL", "http://127.0.0.1:9400"),
        (
            "HERALD_PLATFORMS__TELEGRAM__API_URL",
            "https://tg-proxy.example.com",
        ),
    ])
    .unwrap();
    assert_eq!(
        config.platforms.telegram.api_url.as_str(),
        "https://tg-proxy.example.com"
    );
    assert_eq!(
        config.platforms.twitter.api_url.as_str(),
        "http://127.0.0.1:9400/x"
    );
}

#[test]
fn redirect_uris_derive_from_the_public_url() {
    let config = load(&[("HERALD_PUBLIC_URL", "https://herald.example.com/")]).unwrap();
    let linkedin = &config.platforms.linkedin;
    assert_eq!(
        linkedin.personal.as_ref().unwrap().redirect_uri,
        "https://herald.example.com/api/social/linkedin/callback"
    );
    assert_eq!(
        linkedin.company.as_ref().unwrap().redirect_uri,
        linkedin.personal.as_ref().unwrap().redirect_uri,
        "both LinkedIn apps share the callback"
    );
}

#[test]
fn every_problem_is_reported_at_once_with_its_key_and_variable() {
    let err = load(&[
        ("HERALD_PUBLIC_URL", "not a url"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("HERALD_REDIS_PREFIX", "{bad}"),
        ("HERALD_WORKER__CONCURRENCY", "0"),
        ("TWITTER_CLIENT_ID", "only-the-id"),
        (
            "LINKEDIN_COMPANY_REDIRECT_URI",
            "https://elsewhere.example.com/cb",
        ),
    ])
    .unwrap_err();
    let keys = problem_keys(&err);
    for expected in [
        "public_url",
        "redis_url",
        "redis_prefix",
        "worker.concurrency",
        "platforms.twitter.client_secret",
        "platforms.linkedin.company.redirect_uri",
    ] {
        assert!(keys.contains(&expected), "{expected} missing from {keys:?}");
    }
    let text = err.to_string();
    assert!(text.contains("HERALD_PUBLIC_URL"), "{text}");
    assert!(
        text.contains("TWITTER_CLIENT_SECRET") && text.contains("TWITTER_CLIENT_ID"),
        "{text}"
    );
    assert!(text.contains("redirect_uri does not match"), "{text}");
}

#[test]
fn a_value_of_the_wrong_type_names_its_key() {
    let err = load(&[("HERALD_WORKER__CONCURRENCY", "many")]).unwrap_err();
    assert_eq!(problem_keys(&err), vec!["worker.concurrency"]);
    assert_eq!(
        err.problems[0].env.as_deref(),
        Some("HERALD_WORKER__CONCURRENCY")
    );
}

#[test]
fn production_requires_encryption_keys_and_uses_no_development_apps() {
    let err = load(&[("HERALD_ENV", "production")]).unwrap_err();
    assert_eq!(problem_keys(&err), vec!["encryption_keys"]);
    assert!(
        err.to_string().contains("herald keys gen-encryption"),
        "{err}"
    );

    let config = load(&[
        ("HERALD_ENV", "production"),
        ("HERALD_ENCRYPTION_KEYS", "k1:AAAA"),
        ("TWITTER_CLIENT_ID", "tw"),
        ("TWITTER_CLIENT_SECRET", "tw-secret"),
    ])
    .unwrap();
    assert!(config.platforms.twitter.app.is_some());
    assert!(
        config.platforms.linkedin.personal.is_none(),
        "no dev app in production"
    );
    assert_eq!(config.log.format, LogFormat::Json);
}

#[test]
fn the_printed_configuration_shows_no_secret() {
    let config = load(&[
        ("DATABASE_URL", "postgres://app:db-password-123@db/herald"),
        ("REDIS_URL", "redis://:redis-password-456@cache:6379"),
        ("HERALD_ENCRYPTION_KEYS", "k1:c2VjcmV0LWtleS1tYXRlcmlhbA"),
        ("TWITTER_CLIENT_ID", "tw"),
        ("TWITTER_CLIENT_SECRET", "twitter-secret-789"),
        ("HERALD_API__METRICS_TOKEN", "metrics-token-0123456789"),
    ])
    .unwrap();
    let shown = config.to_redacted_toml();
    for secret in [
        "metrics-token-0123456789",
        "db-password-123",
        "redis-password-456",
        "c2VjcmV0LWtleS1tYXRlcmlhbA",
        "twitter-secret-789",
        "herald-dev-linkedin-secret",
    ] {
        assert!(!shown.contains(secret), "{secret} shown in:\n{shown}");
    }
    assert!(shown.contains("[redacted]"));
    assert!(
        shown.contains("client_id = \"tw\""),
        "non-secrets are shown:\n{shown}"
    );
    assert!(
        !format!("{config:?}").contains("twitter-secret-789"),
        "Debug hides secrets"
    );
}

#[test]
fn content_rules_default_to_the_spec_and_one_limit_can_be_changed() {
    let config = load(&[]).unwrap();
    assert_eq!(
        config
            .rules
            .for_platform(herald_domain::Platform::Linkedin)
            .text
            .max_length,
        3000
    );
    let config = load(&[("HERALD_RULES__TWITTER__TEXT__MAX_LENGTH", "25000")]).unwrap();
    let twitter = config.rules.for_platform(herald_domain::Platform::Twitter);
    assert_eq!(twitter.text.max_length, 25000);
    assert_eq!(
        twitter.image.max_count, 4,
        "the rest of the platform's rules stay"
    );
}

#[test]
fn trusted_proxies_are_ips_or_cidrs_and_each_bad_one_is_named() {
    let config = load(&[(
        "HERALD_API__TRUSTED_PROXIES",
        r#"["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]"#,
    )])
    .unwrap();
    let shown: Vec<String> = config
        .api
        .trusted_proxies
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(shown, ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]);

    let err = load(&[(
        "HERALD_API__TRUSTED_PROXIES",
        r#"["10.0.0.0/33", "proxy.internal"]"#,
    )])
    .unwrap_err();
    assert_eq!(
        problem_keys(&err),
        ["api.trusted_proxies", "api.trusted_proxies"]
    );
    let text = err.to_string();
    assert!(
        text.contains("`proxy.internal` is not an IP address or a CIDR")
            && text.contains("HERALD_API__TRUSTED_PROXIES"),
        "{text}"
    );
}

#[test]
fn the_key_cache_keeps_a_revoked_key_working_at_most_five_seconds() {
    let config = load(&[]).unwrap();
    assert!(config.api.key_cache_ttl <= Duration::from_secs(5));
    assert!(config.api.key_cache_capacity > 0);
    assert_eq!(config.api.max_event_streams_per_key, 5);
    let err = load(&[("HERALD_API__KEY_CACHE_TTL_MS", "60000")]).unwrap_err();
    assert_eq!(problem_keys(&err), ["api.key_cache_ttl_ms"]);
    let err = load(&[("HERALD_API__KEY_CACHE_CAPACITY", "0")]).unwrap_err();
    assert_eq!(problem_keys(&err), ["api.key_cache_capacity"]);
    assert!(
        load(&[
            ("HERALD_API__KEY_CACHE_TTL_MS", "0"),
            ("HERALD_API__KEY_CACHE_CAPACITY", "0")
        ])
        .is_ok()
    );
}

#[test]
fn return_origins_default_to_the_public_urls_and_are_normalized() {
    let config = load(&[("HERALD_PUBLIC_URL", "https://herald.example.com/base")]).unwrap();
    assert_eq!(
        config.api.allowed_return_origins,
        ["https://herald.example.com"]
    );
    let config = load(&[(
        "HERALD_API__ALLOWED_RETURN_ORIGINS",
        "[\"https://App.Example.com:443/\", \"http://localhost:3000\"]",
    )])
    .unwrap();
    assert_eq!(
        config.api.allowed_return_origins,
        ["http://localhost:3000", "https://app.example.com"]
    );
}

#[test]
fn return_origins_that_are_more_than_an_origin_are_refused() {
    for bad in [
        "https://app.example.com/path",
        "https://user@app.example.com",
        "https://app.example.com?x=1",
        "ftp://app.example.com",
        "app.example.com",
    ] {
        let err = load(&[(
            "HERALD_API__ALLOWED_RETURN_ORIGINS",
            &format!("[\"{bad}\"]"),
        )])
        .unwrap_err();
        assert_eq!(problem_keys(&err), ["api.allowed_return_origins"], "{bad}");
    }
}

#[test]
fn the_removed_media_allow_list_is_refused_naming_its_replacement() {
    let err = load(&[("HERALD_WORKER__MEDIA__ALLOW_HOSTS", "[\"127.0.0.1:9400\"]")]).unwrap_err();
    let problem = err
        .problems
        .iter()
        .find(|p| p.key == "worker.media.allow_hosts")
        .expect("the removed key is named");
    assert!(problem.rule.contains("outbound.allow"), "{problem}");

    let dir = std::env::temp_dir().join(format!("herald-config-allow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("herald.toml");
    std::fs::write(&file, "[worker.media]\nallow_hosts = []\n").unwrap();
    let err = Config::load_from(Some(&file), []).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(problem_keys(&err), vec!["worker.media.allow_hosts"]);
    assert!(err.to_string().contains("outbound.allow"), "{err}");
}

#[test]
fn unreadable_outbound_entries_are_named() {
    let err = load(&[(
        "HERALD_OUTBOUND__ALLOW",
        "[\"::1:8080\", \"ok.internal\", \"x:port\"]",
    )])
    .unwrap_err();
    assert_eq!(problem_keys(&err), vec!["outbound.allow", "outbound.allow"]);
    assert!(err.to_string().contains("HERALD_OUTBOUND__ALLOW"), "{err}");
    assert!(err.to_string().contains("[::1]:8080"), "{err}");
}

#[test]
fn loopback_is_reachable_without_listing_in_development_only() {
    let loopback = Url::parse("http://127.0.0.1:9400/hook").unwrap();
    let dev = herald_outbound::Guard::new(load(&[]).unwrap().outbound_policy());
    assert_eq!(dev.check_url(&loopback), Ok(()));
    let off = load(&[("HERALD_OUTBOUND__ALLOW_LOOPBACK_IN_DEVELOPMENT", "false")]).unwrap();
    assert!(
        herald_outbound::Guard::new(off.outbound_policy())
            .check_url(&loopback)
            .is_err()
    );
    let production = load(&[
        ("HERALD_ENV", "production"),
        ("HERALD_ENCRYPTION_KEYS", "k1:AAAA"),
    ])
    .unwrap();
    assert!(
        production.outbound.allow_loopback_in_development,
        "the default stays on"
    );
    let guard = herald_outbound::Guard::new(production.outbound_policy());
    assert!(
        guard.check_url(&loopback).is_err(),
        "but production ignores it"
    );
}

#[test]
fn signed_media_urls_live_no_longer_than_their_maximum() {
    let config = load(&[]).unwrap();
    assert_eq!(config.media.url_max_ttl, Duration::from_secs(7 * 24 * 3600));
    assert!(config.media.url_ttl <= config.media.url_max_ttl);
    assert_eq!(config.media.max_pixels, 100_000_000);

    let err = load(&[
        ("HERALD_MEDIA__URL_TTL_SECS", "86400"),
        ("HERALD_MEDIA__URL_MAX_TTL_SECS", "3600"),
        ("HERALD_MEDIA__MAX_PIXELS", "0"),
    ])
    .unwrap_err();
    let keys = problem_keys(&err);
    assert!(keys.contains(&"media.url_ttl_secs"), "{keys:?}");
    assert!(keys.contains(&"media.max_pixels"), "{keys:?}");
    assert!(
        err.to_string().contains("at most media.url_max_ttl_secs"),
        "{err}"
    );
}

#[test]
fn metrics_leave_the_public_port_for_their_own_address_or_a_token_in_production() {
    let config = load(&[]).unwrap();
    assert!(config.api.metrics_token.is_none());
    assert!(config.api.metrics_on_api_port(config.env));

    let production = [
        ("HERALD_ENV", "production"),
        ("HERALD_ENCRYPTION_KEYS", "k1:AAAA"),
    ];
    let config = load(&production).unwrap();
    assert!(
        !config.api.metrics_on_api_port(config.env),
        "no anonymous /metrics on the public port in production"
    );
    let config = load(&[
        production[0],
        production[1],
        ("HERALD_API__METRICS_TOKEN", "0123456789abcdef"),
    ])
    .unwrap();
    assert!(config.api.metrics_on_api_port(config.env));
    let config = load(&[("HERALD_API__METRICS_ADDR", "127.0.0.1:9465")]).unwrap();
    assert_eq!(
        config.api.metrics_addr.map(|a| a.to_string()).as_deref(),
        Some("127.0.0.1:9465")
    );
    assert!(!config.api.metrics_on_api_port(config.env));

    let err = load(&[
        ("HERALD_API__ADDR", "127.0.0.1:8080"),
        ("HERALD_API__METRICS_ADDR", "127.0.0.1:8080"),
        ("HERALD_API__METRICS_TOKEN", "short"),
    ])
    .unwrap_err();
    assert_eq!(
        problem_keys(&err),
        vec!["api.metrics_addr", "api.metrics_token"]
    );
    assert!(!err.to_string().contains("short"), "{err}");
}

#[test]
fn the_expiring_notice_is_in_days_and_bounded() {
    let config = load(&[("HERALD_API__WEBHOOKS__EXPIRING_NOTICE_DAYS", "3")]).unwrap();
    assert_eq!(
        config.api.webhooks.expiring_notice,
        Duration::from_secs(3 * 86_400)
    );
    let err = load(&[("HERALD_API__WEBHOOKS__EXPIRING_NOTICE_DAYS", "400")]).unwrap_err();
    assert_eq!(problem_keys(&err), ["api.webhooks.expiring_notice_days"]);
}

/// A configuration file in its own directory, removed when the test ends.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> TempFile {
        let dir = std::env::temp_dir().join(format!("herald-config-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("herald.toml");
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn vars(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    vars.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn unknown_keys_in_a_file_are_refused_each_with_the_closest_known_key() {
    let file = TempFile::new(
        "unknown",
        "[worker]\nconcurency = 3\nlease = 5\n[api]\nwhatever_this_is = 1\n",
    );
    let err = Config::load_from(Some(&file.0), []).unwrap_err();
    let shown = err.to_string();
    assert_eq!(err.problems.len(), 3, "{shown}");
    assert!(
        shown.contains("worker.concurency in ")
            && shown.contains("unknown key; did you mean worker.concurrency?"),
        "{shown}"
    );
    assert!(shown.contains("did you mean worker.lease_secs?"), "{shown}");
    assert!(shown.contains("api.whatever_this_is in "), "{shown}");
}

#[test]
fn unknown_herald_variables_are_refused_naming_the_variable_to_use() {
    let err = Config::load_from(
        None,
        vars(&[
            ("HERALD_WORKER__CONCURENCY", "3"),
            ("HERALD_WORKER__LEASE", "5"),
        ]),
    )
    .unwrap_err();
    let shown = err.to_string();
    assert_eq!(err.problems.len(), 2, "{shown}");
    assert!(
        shown.contains(
            "worker.concurency (HERALD_WORKER__CONCURENCY): unknown key; did you mean \
             HERALD_WORKER__CONCURRENCY (worker.concurrency)?"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("HERALD_WORKER__LEASE_SECS (worker.lease_secs)"),
        "{shown}"
    );
}

#[test]
fn variables_that_are_not_keys_and_open_sections_are_accepted() {
    let config = Config::load_from(
        None,
        vars(&[
            ("HERALD_API_URL", "http://127.0.0.1:8080"),
            ("HERALD_API_KEY", "hrld_x_y"),
            ("HERALD_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1"),
            ("HERALD_E2E_ALONE", "1"),
            ("HERALD_PLATFORM_BASE_URL", "http://127.0.0.1:9400"),
            ("HERALD_LOG", "debug"),
            ("HERALD_RULES__TWITTER__TEXT__MAX_LENGTH", "25000"),
            ("HERALD_PLATFORMS__TWITTER__TIERS", "{pro = 300}"),
            ("TWITTER_CLIENT_ID", "tw"),
            ("TWITTER_CLIENT_SECRET", "tw-secret"),
            ("SOMETHING_ELSE", "x"),
        ]),
    )
    .unwrap();
    assert_eq!(config.platforms.twitter.tiers["pro"], 300);
    assert_eq!(config.log.filter, "debug");
}

#[test]
fn the_printed_configuration_loads_back_with_the_same_keys_and_values() {
    let file = TempFile::new(
        "printed-source",
        "redis_prefix = \"pinned\"\n[worker]\nlease_secs = 45\nconcurrency = 3\n\
         [platforms.twitter.tiers]\npro = 300\n[rules.twitter.text]\nmax_length = 25000\n",
    );
    let secrets = [
        ("FACEBOOK_CLIENT_ID", "1234567890"),
        ("FACEBOOK_CLIENT_SECRET", "facebook-secret-123"),
        ("HERALD_API__METRICS_TOKEN", "metrics-token-0123456789"),
    ];
    let mut env = vars(&secrets);
    env.extend(vars(&[
        ("HERALD_API__METRICS_ADDR", "127.0.0.1:9465"),
        ("HERALD_PLATFORM_BASE_URL", "http://127.0.0.1:9400"),
        ("DATABASE_URL", "postgres://app:db-password-123@db/herald"),
    ]));
    let first = Config::load_from(Some(&file.0), env)
        .unwrap()
        .to_redacted_toml();
    assert!(first.contains("lease_secs = 45"), "{first}");
    assert!(!first.contains("lease ="), "{first}");
    assert!(
        first.contains("#   api.metrics_token (HERALD_API__METRICS_TOKEN)"),
        "{first}"
    );
    for secret in [
        "facebook-secret-123",
        "metrics-token-0123456789",
        "db-password-123",
    ] {
        assert!(!first.contains(secret), "{secret} shown in:\n{first}");
    }

    // The printed file, with only the secrets given again, is the same configuration.
    let printed = TempFile::new("printed", &first);
    let again = Config::load_from(Some(&printed.0), vars(&secrets)).unwrap();
    assert_eq!(again.worker.lease, Duration::from_secs(45));
    assert_eq!(again.redis_prefix, "pinned");
    assert_eq!(again.platforms.twitter.tiers["pro"], 300);
    assert_eq!(
        again.rules,
        Config::load_from(Some(&file.0), []).unwrap().rules
    );
    assert_eq!(
        again.platforms.instagram.app.as_ref().unwrap().client_id,
        "1234567890"
    );
    assert_eq!(again.to_redacted_toml(), first);
}

#[test]
fn an_s3_media_store_is_checked_at_load_naming_each_key() {
    let err = load(&[
        ("HERALD_MEDIA__STORE", "s3"),
        ("HERALD_MEDIA__S3__BUCKET", "Bad_Bucket"),
        ("HERALD_MEDIA__S3__ENDPOINT", "http://minio.internal:9000"),
        ("HERALD_MEDIA__S3__PREFIX", "media/../up"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
    ])
    .unwrap_err();
    let keys = problem_keys(&err);
    for key in [
        "media.s3.bucket",
        "media.s3.endpoint",
        "media.s3.prefix",
        "media.s3.secret_access_key",
    ] {
        assert!(keys.contains(&key), "{key} not named in {err}");
    }
    assert!(
        err.to_string()
            .contains("plain http is allowed only to a loopback"),
        "{err}"
    );

    let err = load(&[("HERALD_MEDIA__STORE", "s3")]).unwrap_err();
    assert_eq!(problem_keys(&err), ["media.s3.bucket"]);
}

#[test]
fn a_loopback_s3_endpoint_may_be_plain_http_in_development_only() {
    let vars = [
        ("HERALD_MEDIA__STORE", "s3"),
        ("HERALD_MEDIA__S3__BUCKET", "herald-media"),
        ("HERALD_MEDIA__S3__ENDPOINT", "http://127.0.0.1:9000"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "s3-secret-0123456789"),
    ];
    let config = load(&vars).unwrap();
    assert!(config.media.s3.allow_http);
    assert_eq!(
        config.media.s3.access_key_id.as_deref(),
        Some("AKIDEXAMPLE")
    );
    let shown = config.to_redacted_toml();
    assert!(!shown.contains("s3-secret-0123456789"), "{shown}");
    assert!(
        shown.contains("media.s3.secret_access_key (AWS_SECRET_ACCESS_KEY)"),
        "{shown}"
    );
    assert!(!format!("{config:?}").contains("s3-secret-0123456789"));

    let mut production = vars.to_vec();
    production.extend([
        ("HERALD_ENV", "production"),
        ("HERALD_ENCRYPTION_KEYS", "k1:c2VjcmV0LWtleS1tYXRlcmlhbA"),
    ]);
    let err = load(&production).unwrap_err();
    assert!(problem_keys(&err).contains(&"media.s3.endpoint"), "{err}");
}
