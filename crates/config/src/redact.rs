//! How secrets look when the configuration is shown: never their value.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Serializer;

const REDACTED: &str = "[redacted]";

pub(crate) fn secret<S: Serializer>(_: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(REDACTED)
}

pub(crate) fn optional_secret<S: Serializer>(
    value: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => s.serialize_str(REDACTED),
        None => s.serialize_str("(not set)"),
    }
}

/// A connection URL with its password (and any query, which may carry one) replaced.
pub(crate) fn url_password<S: Serializer>(value: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(value.expose_secret()))
}

pub(crate) fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                // Setting a password only fails for URLs that cannot have one.
                let _ = url.set_password(Some(REDACTED));
            }
            if url.query().is_some() {
                url.set_query(Some(REDACTED));
            }
            url.to_string()
        }
        Err(_) => REDACTED.to_owned(),
    }
}

pub(crate) mod secs {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(value.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_hidden_and_the_rest_kept() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db:5432/herald"),
            "postgres://app:%5Bredacted%5D@db:5432/herald"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert!(!redact_url("postgres://db/herald?password=hunter2").contains("hunter2"));
    }
}
