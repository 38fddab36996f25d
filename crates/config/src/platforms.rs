//! Per-platform settings: OAuth apps, where each platform lives, and its windows.
//!
//! Where a platform lives is resolved per host, most specific first: an explicit
//! `platforms.<name>.web_url`/`api_url`, then `HERALD_PLATFORM_BASE_URL` plus the
//! simulator's prefix for that host, then the real host. Credentials: explicit ones; for
//! Instagram and Threads, Facebook's (one Meta app can serve all three); in development,
//! the simulator's registered development apps; in production, none (the platform is
//! reported as not configured and cannot be connected).

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::raw::{RawApp, RawPlatforms, RawUrls};
use crate::{BaseUrl, Environment, Problems, redact};

/// A registered OAuth app.
#[derive(Debug, Clone, Serialize)]
pub struct OAuthApp {
    pub client_id: String,
    #[serde(serialize_with = "redact::secret")]
    pub client_secret: SecretString,
    pub redirect_uri: String,
    /// The simulator's development app, used because nothing was configured.
    pub development_default: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlatformsConfig {
    pub twitter: TwitterConfig,
    pub linkedin: LinkedinConfig,
    pub facebook: MetaConfig,
    pub instagram: MetaConfig,
    pub threads: ThreadsConfig,
    pub telegram: TelegramConfig,
}

#[derive(Debug, Clone, Serialize)]
pub struct TwitterConfig {
    pub app: Option<OAuthApp>,
    /// x.com: the authorize page.
    pub web_url: BaseUrl,
    /// api.x.com: tokens, tweets, media.
    pub api_url: BaseUrl,
    pub scopes: Vec<String>,
    pub default_tier: String,
    /// Posts per window by API tier.
    pub tiers: BTreeMap<String, u32>,
    #[serde(with = "redact::secs")]
    pub window: Duration,
}

/// Which LinkedIn publishing API to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkedinFlow {
    /// Images API + Posts API (`/rest`), polling the image until AVAILABLE.
    Current,
    /// The older assets registerUpload + ugcPosts (`/v2`), with its fixed processing wait.
    Legacy,
}

#[derive(Debug, Clone, Serialize)]
pub struct LinkedinConfig {
    /// The "Share on LinkedIn" app, for member profiles.
    pub personal: Option<OAuthApp>,
    /// The "Community Management API" app, for Company Pages.
    pub company: Option<OAuthApp>,
    /// www.linkedin.com: OAuth.
    pub web_url: BaseUrl,
    /// api.linkedin.com: `/v2` and `/rest`.
    pub api_url: BaseUrl,
    pub personal_scopes: Vec<String>,
    pub company_scopes: Vec<String>,
    /// `LinkedIn-Version` header, `YYYYMM`.
    pub version: String,
    pub flow: LinkedinFlow,
    /// How long to wait for an uploaded image to become AVAILABLE.
    #[serde(with = "redact::secs")]
    pub image_wait: Duration,
    /// Approved partner apps get refresh tokens; others reconnect when a token expires.
    pub partner_app: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct MetaConfig {
    pub app: Option<OAuthApp>,
    /// www.facebook.com: the OAuth dialog.
    pub web_url: BaseUrl,
    /// graph.facebook.com.
    pub api_url: BaseUrl,
    pub graph_version: String,
    pub scopes: Vec<String>,
    /// Instagram's publishing quota per window (differs across doc versions).
    pub posts_per_window: Option<u32>,
    #[serde(with = "optional_secs")]
    pub window: Option<Duration>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ThreadsConfig {
    pub app: Option<OAuthApp>,
    /// threads.net: the authorize page.
    pub web_url: BaseUrl,
    /// graph.threads.net.
    pub api_url: BaseUrl,
    pub api_version: String,
    pub scopes: Vec<String>,
    pub posts_per_window: u32,
    #[serde(with = "redact::secs")]
    pub window: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct TelegramConfig {
    /// api.telegram.org.
    pub api_url: BaseUrl,
    pub per_chat_per_second: u32,
    pub per_bot_per_second: u32,
}

mod optional_secs {
    use std::time::Duration;

    pub(crate) fn serialize<S: serde::Serializer>(
        value: &Option<Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_u64(d.as_secs()),
            None => s.serialize_str("(none)"),
        }
    }
}

/// The simulator's registered development apps (see `herald-sim`'s fixtures).
pub const DEVELOPMENT_APPS: &[(&str, &str, &str)] = &[
    ("twitter", "herald-dev-twitter", "herald-dev-twitter-secret"),
    (
        "linkedin",
        "herald-dev-linkedin",
        "herald-dev-linkedin-secret",
    ),
    (
        "linkedin_company",
        "herald-dev-linkedin-company",
        "herald-dev-linkedin-company-secret",
    ),
    (
        "facebook",
        "herald-dev-facebook",
        "herald-dev-facebook-secret",
    ),
    ("threads", "herald-dev-threads", "herald-dev-threads-secret"),
];

struct Hosts<'a> {
    base: Option<&'a BaseUrl>,
    problems: &'a mut Problems,
}

impl Hosts<'_> {
    /// An explicit URL, else the simulator prefix on the base URL, else the real host.
    fn resolve(&mut self, key: &str, explicit: Option<&str>, prefix: &str, real: &str) -> BaseUrl {
        if let Some(value) = explicit {
            return BaseUrl::parse(value).unwrap_or_else(|rule| {
                self.problems.push(key, rule);
                BaseUrl::placeholder()
            });
        }
        match self.base {
            Some(base) => BaseUrl(base.join(prefix)),
            None => BaseUrl(real.to_owned()),
        }
    }
}

pub(crate) fn resolve(
    raw: RawPlatforms,
    env: Environment,
    public_url: &BaseUrl,
    problems: &mut Problems,
) -> PlatformsConfig {
    let base = raw.base_url.as_deref().and_then(|value| {
        BaseUrl::parse(value)
            .map_err(|rule| problems.push("platforms.base_url", rule))
            .ok()
    });
    let callback = |platform: &str| format!("{public_url}/api/social/{platform}/callback");

    let twitter_app = resolve_app(
        problems,
        env,
        "twitter",
        &raw.twitter.app,
        None,
        callback("twitter"),
    );
    let linkedin_personal = resolve_app(
        problems,
        env,
        "linkedin",
        &raw.linkedin.app,
        None,
        callback("linkedin"),
    );
    // Both LinkedIn apps share one callback; the target rides in the OAuth state.
    let personal_callback = linkedin_personal
        .as_ref()
        .map_or_else(|| callback("linkedin"), |app| app.redirect_uri.clone());
    let linkedin_company = resolve_app(
        problems,
        env,
        "linkedin.company",
        &raw.linkedin.company,
        None,
        personal_callback.clone(),
    );
    if let Some(company) = &linkedin_company
        && company.redirect_uri != personal_callback
    {
        problems.push(
            "platforms.linkedin.company.redirect_uri",
            format!(
                "must equal {} ({personal_callback}): both LinkedIn apps use \
                 the same callback URL, or LinkedIn answers `redirect_uri does not match`",
                env_or_key("platforms.linkedin.redirect_uri")
            ),
        );
    }
    let facebook_app = resolve_app(
        problems,
        env,
        "facebook",
        &raw.facebook.app,
        None,
        callback("facebook"),
    );
    let instagram_app = resolve_app(
        problems,
        env,
        "instagram",
        &raw.instagram.app,
        Some(&raw.facebook.app),
        callback("instagram"),
    );
    let threads_app = resolve_app(
        problems,
        env,
        "threads",
        &raw.threads.app,
        Some(&raw.facebook.app),
        callback("threads"),
    );

    let mut hosts = Hosts {
        base: base.as_ref(),
        problems,
    };
    let twitter = TwitterConfig {
        app: twitter_app,
        web_url: url(
            &mut hosts,
            "twitter",
            &raw.twitter.urls,
            Host::Web,
            "/x",
            "https://x.com",
        ),
        api_url: url(
            &mut hosts,
            "twitter",
            &raw.twitter.urls,
            Host::Api,
            "/x",
            "https://api.x.com",
        ),
        scopes: raw.twitter.scopes,
        default_tier: raw.twitter.default_tier,
        tiers: raw.twitter.tiers,
        window: Duration::from_secs(raw.twitter.window_secs),
    };
    let linkedin = LinkedinConfig {
        personal: linkedin_personal,
        company: linkedin_company,
        web_url: url(
            &mut hosts,
            "linkedin",
            &raw.linkedin.urls,
            Host::Web,
            "/linkedin",
            "https://www.linkedin.com",
        ),
        api_url: url(
            &mut hosts,
            "linkedin",
            &raw.linkedin.urls,
            Host::Api,
            "/linkedin",
            "https://api.linkedin.com",
        ),
        personal_scopes: raw.linkedin.personal_scopes,
        company_scopes: raw.linkedin.company_scopes,
        version: raw.linkedin.version,
        flow: raw.linkedin.flow,
        image_wait: Duration::from_secs(raw.linkedin.image_wait_secs),
        partner_app: raw.linkedin.partner_app,
    };
    let facebook = meta(&mut hosts, "facebook", raw.facebook, facebook_app);
    let instagram = meta(&mut hosts, "instagram", raw.instagram, instagram_app);
    let threads = ThreadsConfig {
        app: threads_app,
        web_url: url(
            &mut hosts,
            "threads",
            &raw.threads.urls,
            Host::Web,
            "/threads",
            "https://threads.net",
        ),
        api_url: url(
            &mut hosts,
            "threads",
            &raw.threads.urls,
            Host::Api,
            "/threads",
            "https://graph.threads.net",
        ),
        api_version: raw.threads.api_version,
        scopes: raw.threads.scopes,
        posts_per_window: raw.threads.posts_per_window,
        window: Duration::from_secs(raw.threads.window_secs),
    };
    let telegram = TelegramConfig {
        api_url: hosts.resolve(
            "platforms.telegram.api_url",
            raw.telegram.api_url.as_deref(),
            "/telegram",
            "https://api.telegram.org",
        ),
        per_chat_per_second: raw.telegram.per_chat_per_second,
        per_bot_per_second: raw.telegram.per_bot_per_second,
    };

    if !twitter.tiers.contains_key(&twitter.default_tier) {
        hosts.problems.push(
            "platforms.twitter.default_tier",
            format!(
                "`{}` is not one of the configured tiers ({})",
                twitter.default_tier,
                twitter.tiers.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        );
    }
    for (key, secs) in [
        ("platforms.twitter.window_secs", twitter.window.as_secs()),
        ("platforms.threads.window_secs", threads.window.as_secs()),
    ] {
        hosts
            .problems
            .require(secs > 0, key, "must be at least 1 second");
    }

    PlatformsConfig {
        twitter,
        linkedin,
        facebook,
        instagram,
        threads,
        telegram,
    }
}

#[derive(Clone, Copy)]
enum Host {
    Web,
    Api,
}

fn url(
    hosts: &mut Hosts<'_>,
    platform: &str,
    urls: &RawUrls,
    host: Host,
    prefix: &str,
    real: &str,
) -> BaseUrl {
    let (field, explicit) = match host {
        Host::Web => ("web_url", urls.web_url.as_deref()),
        Host::Api => ("api_url", urls.api_url.as_deref()),
    };
    hosts.resolve(
        &format!("platforms.{platform}.{field}"),
        explicit,
        prefix,
        real,
    )
}

fn meta(
    hosts: &mut Hosts<'_>,
    platform: &str,
    raw: crate::raw::RawMeta,
    app: Option<OAuthApp>,
) -> MetaConfig {
    MetaConfig {
        app,
        web_url: url(
            hosts,
            platform,
            &raw.urls,
            Host::Web,
            "/facebook",
            "https://www.facebook.com",
        ),
        api_url: url(
            hosts,
            platform,
            &raw.urls,
            Host::Api,
            "/graph",
            "https://graph.facebook.com",
        ),
        graph_version: raw.graph_version,
        scopes: raw.scopes,
        posts_per_window: raw.posts_per_window,
        window: raw.window_secs.map(Duration::from_secs),
    }
}

/// Credentials for one app: its own, else `fallback`'s (both fields from one source, never
/// mixed), else the development app outside production.
fn resolve_app(
    problems: &mut Problems,
    env: Environment,
    name: &str,
    raw: &RawApp,
    fallback: Option<&RawApp>,
    default_redirect: String,
) -> Option<OAuthApp> {
    let key = format!("platforms.{name}");
    let id_key = format!("{key}.client_id");
    let secret_key = format!("{key}.client_secret");
    let redirect_key = format!("{key}.redirect_uri");
    let redirect_uri = match raw.redirect_uri.as_deref().filter(|v| !v.trim().is_empty()) {
        Some(value) => match BaseUrl::parse(value) {
            Ok(url) => url.0,
            Err(rule) => {
                problems.push(&redirect_key, rule);
                return None;
            }
        },
        None => default_redirect,
    };
    let given = |app: &RawApp| {
        (
            app.client_id.clone().filter(|v| !v.trim().is_empty()),
            app.client_secret
                .clone()
                .filter(|v| !v.expose_secret().trim().is_empty()),
        )
    };
    let (id, secret) = match given(raw) {
        (None, None) => fallback.map(given).unwrap_or((None, None)),
        pair => pair,
    };
    match (id, secret) {
        (Some(client_id), Some(client_secret)) => Some(OAuthApp {
            client_id,
            client_secret,
            redirect_uri,
            development_default: false,
        }),
        (Some(_), None) => {
            problems.push(
                &secret_key,
                format!("is required because {} is set", env_or_key(&id_key)),
            );
            None
        }
        (None, Some(_)) => {
            problems.push(
                &id_key,
                format!("is required because {} is set", env_or_key(&secret_key)),
            );
            None
        }
        (None, None) if env == Environment::Development => {
            let dev_name = match name {
                "linkedin.company" => "linkedin_company",
                "instagram" => "facebook",
                other => other,
            };
            DEVELOPMENT_APPS
                .iter()
                .find(|(n, _, _)| *n == dev_name)
                .map(|(_, id, secret)| OAuthApp {
                    client_id: (*id).to_owned(),
                    client_secret: SecretString::from(*secret),
                    redirect_uri,
                    development_default: true,
                })
        }
        (None, None) => None,
    }
}

fn env_or_key(key: &str) -> String {
    crate::env::name_of(key).unwrap_or_else(|| key.to_owned())
}
