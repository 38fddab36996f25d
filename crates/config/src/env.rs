//! The environment layer. `HERALD_*` variables map onto keys (`__` nests:
//! `HERALD_WORKER__CONCURRENCY` is `worker.concurrency`); the well-known names
//! (`TWITTER_CLIENT_ID`, `LINKEDIN_COMPANY_CLIENT_SECRET`, `DATABASE_URL`, ...) map onto
//! theirs.
//!
//! Values stay strings (figment's lossy extraction turns them into numbers or booleans
//! where a field wants one), so a numeric Facebook app id is still a string client id.
//! A value that starts with `[` or `{` is parsed, so lists can be given too.

use figment::Figment;
use figment::providers::Serialized;
use figment::value::Value;

/// Well-known names and the keys they set, beyond the mechanical `HERALD_A__B` -> `a.b` rule.
const NAMED: &[(&str, &str)] = &[
    ("DATABASE_URL", "database_url"),
    ("REDIS_URL", "redis_url"),
    ("HERALD_PLATFORM_BASE_URL", "platforms.base_url"),
    ("HERALD_LOG", "log.filter"),
    ("HERALD_LOG_FORMAT", "log.format"),
    ("TWITTER_CLIENT_ID", "platforms.twitter.client_id"),
    ("TWITTER_CLIENT_SECRET", "platforms.twitter.client_secret"),
    ("TWITTER_REDIRECT_URI", "platforms.twitter.redirect_uri"),
    ("LINKEDIN_CLIENT_ID", "platforms.linkedin.client_id"),
    ("LINKEDIN_CLIENT_SECRET", "platforms.linkedin.client_secret"),
    ("LINKEDIN_REDIRECT_URI", "platforms.linkedin.redirect_uri"),
    (
        "LINKEDIN_COMPANY_CLIENT_ID",
        "platforms.linkedin.company.client_id",
    ),
    (
        "LINKEDIN_COMPANY_CLIENT_SECRET",
        "platforms.linkedin.company.client_secret",
    ),
    (
        "LINKEDIN_COMPANY_REDIRECT_URI",
        "platforms.linkedin.company.redirect_uri",
    ),
    ("FACEBOOK_CLIENT_ID", "platforms.facebook.client_id"),
    ("FACEBOOK_CLIENT_SECRET", "platforms.facebook.client_secret"),
    ("FACEBOOK_REDIRECT_URI", "platforms.facebook.redirect_uri"),
    ("INSTAGRAM_CLIENT_ID", "platforms.instagram.client_id"),
    (
        "INSTAGRAM_CLIENT_SECRET",
        "platforms.instagram.client_secret",
    ),
    ("INSTAGRAM_REDIRECT_URI", "platforms.instagram.redirect_uri"),
    ("THREADS_CLIENT_ID", "platforms.threads.client_id"),
    ("THREADS_CLIENT_SECRET", "platforms.threads.client_secret"),
    ("THREADS_REDIRECT_URI", "platforms.threads.redirect_uri"),
    // The names every S3 client reads, for the media bucket's static credentials.
    ("AWS_ACCESS_KEY_ID", "media.s3.access_key_id"),
    ("AWS_SECRET_ACCESS_KEY", "media.s3.secret_access_key"),
    ("AWS_SESSION_TOKEN", "media.s3.session_token"),
];

/// `HERALD_*` variables that are not configuration keys: they steer loading itself, the
/// command-line client, or the tests and tools. Any other `HERALD_*` variable must name a
/// key, so a misspelt one is refused rather than ignored.
const NOT_KEYS: &[&str] = &[
    // The configuration file to load.
    "HERALD_CONFIG",
    // The command-line client: which API to call, and with which key.
    "HERALD_API_URL",
    "HERALD_API_KEY",
    // Tests and development tools.
    "HERALD_TEST_DATABASE_URL",
    "HERALD_E2E_ALONE",
    "HERALD_SQLX_SERVER_URL",
    "HERALD_SQLX_DATABASE",
    "HERALD_TOOLS",
];

/// Whether `name` is one of the well-known names, which always set their key.
pub(crate) fn is_named(name: &str) -> bool {
    NAMED.iter().any(|(env, _)| *env == name)
}

/// The key an environment variable sets, if it sets one.
pub(crate) fn key_of(name: &str) -> Option<String> {
    if let Some((_, key)) = NAMED.iter().find(|(env, _)| *env == name) {
        return Some((*key).to_owned());
    }
    if NOT_KEYS.contains(&name) {
        return None;
    }
    let rest = name.strip_prefix("HERALD_")?;
    if rest.is_empty() {
        return None;
    }
    Some(rest.to_ascii_lowercase().replace("__", "."))
}

/// The environment variable that sets a key: the well-known name where there is one.
pub(crate) fn name_of(key: &str) -> Option<String> {
    if let Some((env, _)) = NAMED.iter().find(|(_, k)| *k == key) {
        return Some((*env).to_owned());
    }
    if key.is_empty() {
        return None;
    }
    Some(format!(
        "HERALD_{}",
        key.to_ascii_uppercase().replace('.', "__")
    ))
}

/// Merges the variables that set keys onto `figment`, in a fixed order so that a well-known
/// name and its `HERALD_` twin resolve the same way every time (the well-known name wins).
pub(crate) fn merge(mut figment: Figment, vars: &[(String, String)]) -> Figment {
    let mut settings: Vec<(usize, String, &str)> = vars
        .iter()
        .filter_map(|(name, value)| {
            let key = key_of(name)?;
            let rank = usize::from(NAMED.iter().any(|(env, _)| env == name));
            Some((rank, key, value.as_str()))
        })
        .collect();
    settings.sort();
    for (_, key, value) in settings {
        figment = figment.merge(Serialized::default(&key, value_of(value)));
    }
    figment
}

fn value_of(raw: &str) -> Value {
    let trimmed = raw.trim_start();
    if trimmed.starts_with('[') || trimmed.starts_with('{') {
        // Parsing a figment value cannot fail: what is not a list or a map stays a string.
        let Ok(parsed) = raw.parse::<Value>();
        return parsed;
    }
    Value::from(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_both_ways() {
        assert_eq!(
            key_of("TWITTER_CLIENT_ID").unwrap(),
            "platforms.twitter.client_id"
        );
        assert_eq!(
            key_of("HERALD_WORKER__CONCURRENCY").unwrap(),
            "worker.concurrency"
        );
        assert_eq!(key_of("HERALD_PUBLIC_URL").unwrap(), "public_url");
        assert_eq!(key_of("HERALD_CONFIG"), None);
        assert_eq!(key_of("HERALD_API_KEY"), None);
        assert_eq!(key_of("PATH"), None);
        assert_eq!(
            name_of("platforms.linkedin.company.client_secret").unwrap(),
            "LINKEDIN_COMPANY_CLIENT_SECRET"
        );
        assert_eq!(name_of("api.addr").unwrap(), "HERALD_API__ADDR");
    }
}
