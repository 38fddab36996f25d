//! Which keys exist, so that a misspelt one is refused instead of silently ignored (a
//! `concurency = 3` that does nothing is worse than an error).
//!
//! The known keys are those of `config/herald.default.toml` plus [`OPTIONAL`], the keys whose
//! absence means something and which the defaults file therefore only shows commented out.
//! Below [`OPEN`] any key is accepted here: a free map, or a section whose own deserializer
//! refuses unknown keys.

use std::collections::BTreeSet;

use crate::env;
use crate::{DEFAULTS_TOML, Problem};

/// Keys that may be set but have no default (commented out in the defaults file).
const OPTIONAL: &[&str] = &[
    "encryption_keys",
    "api.metrics_token",
    "api.metrics_addr",
    "media.s3.bucket",
    "media.s3.region",
    "media.s3.endpoint",
    "media.s3.prefix",
    "media.s3.access_key_id",
    "media.s3.secret_access_key",
    "media.s3.session_token",
    // Removed; known only so that setting it gets the message naming its replacement.
    "worker.media.allow_hosts",
    "log.format",
    "platforms.base_url",
    "platforms.twitter.client_id",
    "platforms.twitter.client_secret",
    "platforms.twitter.redirect_uri",
    "platforms.twitter.web_url",
    "platforms.twitter.api_url",
    "platforms.linkedin.client_id",
    "platforms.linkedin.client_secret",
    "platforms.linkedin.redirect_uri",
    "platforms.linkedin.web_url",
    "platforms.linkedin.api_url",
    "platforms.linkedin.company.client_id",
    "platforms.linkedin.company.client_secret",
    "platforms.linkedin.company.redirect_uri",
    "platforms.facebook.client_id",
    "platforms.facebook.client_secret",
    "platforms.facebook.redirect_uri",
    "platforms.facebook.web_url",
    "platforms.facebook.api_url",
    "platforms.facebook.posts_per_window",
    "platforms.facebook.window_secs",
    "platforms.instagram.client_id",
    "platforms.instagram.client_secret",
    "platforms.instagram.redirect_uri",
    "platforms.instagram.web_url",
    "platforms.instagram.api_url",
    "platforms.threads.client_id",
    "platforms.threads.client_secret",
    "platforms.threads.redirect_uri",
    "platforms.threads.web_url",
    "platforms.threads.api_url",
    "platforms.telegram.api_url",
];

/// Sections whose inner keys are not checked here: the X tiers are a free map (tier name to
/// posts per window), and the content rules refuse unknown keys when they are read.
const OPEN: &[&str] = &["platforms.twitter.tiers", "rules"];

/// The known keys: tables (sections) and leaves (values).
pub(crate) struct Schema {
    tables: BTreeSet<String>,
    leaves: BTreeSet<String>,
}

impl Schema {
    pub(crate) fn new() -> Schema {
        let mut schema = Schema {
            tables: BTreeSet::new(),
            leaves: OPTIONAL.iter().map(|&k| k.to_owned()).collect(),
        };
        // The defaults file is compiled in and parsed by every load; a broken one fails the
        // unit tests, so here an unreadable one only means "no keys from it".
        if let Ok(defaults) = DEFAULTS_TOML.parse::<toml::Table>() {
            schema.add_table("", &defaults);
        }
        for key in OPTIONAL.iter().chain(OPEN) {
            let mut parent = *key;
            while let Some((up, _)) = parent.rsplit_once('.') {
                schema.tables.insert(up.to_owned());
                parent = up;
            }
        }
        schema
    }

    fn add_table(&mut self, prefix: &str, table: &toml::Table) {
        for (name, value) in table {
            let key = join(prefix, name);
            match value {
                toml::Value::Table(inner) if !is_open(&key) => {
                    self.tables.insert(key.clone());
                    self.add_table(&key, inner);
                }
                _ => {
                    self.leaves.insert(key);
                }
            }
        }
    }

    /// Whether `key` may be set: a value, a section (set whole, as an inline table), or a
    /// key inside an open section.
    pub(crate) fn knows(&self, key: &str) -> bool {
        self.leaves.contains(key) || self.tables.contains(key) || is_open(key)
    }

    /// Every unknown key of a configuration file, each with the closest known one.
    pub(crate) fn check_file(&self, table: &toml::Table) -> Vec<Problem> {
        let mut problems = Vec::new();
        self.check_table("", table, &mut problems);
        problems
    }

    fn check_table(&self, prefix: &str, table: &toml::Table, problems: &mut Vec<Problem>) {
        for (name, value) in table {
            let key = join(prefix, name);
            if is_open(&key) {
                continue;
            }
            match value {
                toml::Value::Table(inner) if self.tables.contains(&key) => {
                    self.check_table(&key, inner, problems);
                }
                _ if self.knows(&key) => {}
                _ => problems.push(Problem {
                    rule: self.unknown_rule(&key, |k| k.to_owned()),
                    key,
                    env: None,
                }),
            }
        }
    }

    /// Every `HERALD_*` variable that names no key (the well-known names and the variables
    /// that steer something other than the configuration excepted).
    pub(crate) fn check_env(&self, vars: &[(String, String)]) -> Vec<Problem> {
        let mut problems = Vec::new();
        for (name, _) in vars {
            if !name.starts_with("HERALD_") || env::is_named(name) {
                continue;
            }
            let Some(key) = env::key_of(name) else {
                continue;
            };
            if !self.knows(&key) {
                problems.push(Problem {
                    rule: self.unknown_rule(&key, |k| {
                        env::name_of(k).map_or_else(|| k.to_owned(), |env| format!("{env} ({k})"))
                    }),
                    key,
                    env: Some(name.clone()),
                });
            }
        }
        problems
    }

    fn unknown_rule(&self, key: &str, show: impl Fn(&str) -> String) -> String {
        match self.closest(key) {
            Some(known) => format!("unknown key; did you mean {}?", show(known)),
            None => "unknown key; every key is listed in config/herald.default.toml".to_owned(),
        }
    }

    /// The known key closest to `key`: a misspelling of it, or it with a unit suffix
    /// (`lease` for `lease_secs`).
    fn closest(&self, key: &str) -> Option<&str> {
        let suffixed = format!("{key}_");
        self.leaves
            .iter()
            .chain(&self.tables)
            .map(|known| {
                let distance = if known.starts_with(&suffixed) {
                    1
                } else {
                    edit_distance(key, known)
                };
                (distance, known.as_str())
            })
            .filter(|&(distance, _)| distance <= 3.max(key.len() / 5))
            .min()
            .map(|(_, known)| known)
    }
}

fn is_open(key: &str) -> bool {
    OPEN.iter().any(|open| {
        key == *open
            || key
                .strip_prefix(open)
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Levenshtein distance: insertions, deletions and substitutions of one character.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_optional_key_is_documented_in_the_defaults_file() {
        for key in OPTIONAL
            .iter()
            .filter(|k| **k != "worker.media.allow_hosts")
        {
            let name = key.rsplit('.').next().unwrap_or(key);
            assert!(
                DEFAULTS_TOML.contains(&format!("{name} = ")),
                "{key} is not shown in config/herald.default.toml"
            );
        }
    }

    #[test]
    fn misspellings_and_missing_units_find_their_key() {
        let schema = Schema::new();
        assert_eq!(
            schema.closest("worker.concurency"),
            Some("worker.concurrency")
        );
        assert_eq!(schema.closest("worker.lease"), Some("worker.lease_secs"));
        assert_eq!(schema.closest("worker.zzzzzzzzzzzzz"), None);
        assert!(schema.knows("platforms.twitter.tiers.pro"));
        assert!(schema.knows("rules.twitter.text.max_length"));
        assert!(schema.knows("platforms.linkedin.company"));
        assert!(!schema.knows("worker.lease"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
