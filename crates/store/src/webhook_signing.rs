//! How webhook requests are signed: the Standard Webhooks scheme, and Herald's earlier one
//! for webhooks registered before it.
//!
//! # Standard Webhooks
//!
//! Each request carries `webhook-id` (the message's id, the same on every retry of it),
//! `webhook-timestamp` (unix seconds of this attempt) and
//! `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, where the
//! key is the base64-decoded part of the secret after `whsec_`. Any Standard Webhooks
//! library verifies it with the secret as given.
//!
//! # Legacy
//!
//! Webhooks registered before Standard Webhooks ([`Signing::Legacy`]) keep their secret and
//! also get `Herald-Timestamp: <unix seconds>` and
//! `Herald-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, the HMAC keyed
//! with the whole secret string, until their secret is rotated. Their secrets are URL-safe
//! base64 without padding; the Standard signature is keyed with the same decoded bytes, so
//! a Standard library verifies it once the secret is written in standard base64
//! (`-` → `+`, `_` → `/`, padded with `=`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::SecretString;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The prefix of every webhook secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// How many random bytes a new secret holds (the specification allows 24 to 64).
const SECRET_BYTES: usize = 32;

/// Which signature headers a webhook's requests carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// Standard Webhooks and Herald's earlier `Herald-Signature`: a webhook registered
    /// before Standard Webhooks whose secret was not rotated since.
    Legacy,
    /// Standard Webhooks only.
    Standard,
}

impl Signing {
    pub const fn as_str(self) -> &'static str {
        match self {
            Signing::Legacy => "legacy",
            Signing::Standard => "standard",
        }
    }

    /// The stored value; anything unknown is treated as the newer scheme.
    pub fn parse(stored: &str) -> Signing {
        if stored == "legacy" {
            Signing::Legacy
        } else {
            Signing::Standard
        }
    }
}

/// A new secret: `whsec_` and the standard base64 of 32 random bytes.
pub fn new_secret() -> SecretString {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    SecretString::from(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
}

/// The HMAC key of a secret: its part after `whsec_`, base64-decoded (standard or URL-safe
/// alphabet, padded or not); `None` when it is not base64.
pub fn signing_key(secret: &str) -> Option<Vec<u8>> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let lenient =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    GeneralPurpose::new(&base64::alphabet::STANDARD, lenient)
        .decode(encoded)
        .or_else(|_| GeneralPurpose::new(&base64::alphabet::URL_SAFE, lenient).decode(encoded))
        .ok()
        .filter(|key| !key.is_empty())
}

/// The `webhook-signature` value of message `msg_id` sent at `timestamp` with `body`.
pub fn standard_signature(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let Some(key) = signing_key(secret) else {
        return String::new();
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return String::new();
    };
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Whether one of the space-separated signatures of a `webhook-signature` header matches:
/// what a receiver does (besides rejecting timestamps far from its clock).
pub fn verify_standard(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
    header: &str,
) -> bool {
    let expected = standard_signature(secret, msg_id, timestamp, body);
    !expected.is_empty()
        && header
            .split(' ')
            .any(|candidate| bool::from(expected.as_bytes().ct_eq(candidate.as_bytes())))
}

/// The legacy `Herald-Signature` value for `body` sent at `timestamp`.
pub fn legacy_signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("v1={hex}")
}

/// Whether a legacy `Herald-Signature` header matches.
pub fn verify_legacy(secret: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    legacy_signature(secret, timestamp, body)
        .as_bytes()
        .ct_eq(header.as_bytes())
        .into()
}

/// The signature headers of one request, by name.
pub fn headers(
    secret: &str,
    signing: Signing,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("webhook-id", msg_id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        (
            "webhook-signature",
            standard_signature(secret, msg_id, timestamp, body),
        ),
    ];
    if signing == Signing::Legacy {
        headers.push(("herald-timestamp", timestamp.to_string()));
        headers.push((
            "herald-signature",
            legacy_signature(secret, timestamp, body),
        ));
    }
    headers
}

/// A legacy secret as a Standard Webhooks library reads it (standard base64, padded).
pub fn standard_form(secret: &str) -> Option<String> {
    signing_key(secret).map(|key| format!("{SECRET_PREFIX}{}", STANDARD.encode(key)))
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn new_secrets_are_standard_base64_of_32_bytes() {
        let secret = new_secret();
        let secret = secret.expose_secret();
        let encoded = secret.strip_prefix("whsec_").expect("prefixed");
        assert_eq!(STANDARD.decode(encoded).expect("standard base64").len(), 32);
        assert_ne!(secret, new_secret().expose_secret());
    }

    #[test]
    fn the_standard_signature_matches_the_specification_example() {
        // The example of the Standard Webhooks specification and its libraries' tests.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let signature =
            standard_signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(verify_standard(
            secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            body,
            &format!("v1,bm90IHRoaXM= {signature}")
        ));
        assert!(!verify_standard(
            secret,
            "msg_other",
            1_614_265_330,
            body,
            &signature
        ));
        assert!(!verify_standard(
            secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_331,
            body,
            &signature
        ));
    }

    #[test]
    fn legacy_secrets_sign_both_ways_with_the_same_bytes() {
        let legacy = format!("whsec_{}", URL_SAFE_NO_PAD.encode([0xfb_u8; 32]));
        assert!(legacy.contains('-') || legacy.contains('_'));
        let standard = standard_form(&legacy).expect("base64");
        assert!(standard.contains('+') || standard.contains('/'));
        let body = b"{}";
        assert_eq!(
            standard_signature(&legacy, "msg_1", 1, body),
            standard_signature(&standard, "msg_1", 1, body)
        );
        let names: Vec<_> = headers(&legacy, Signing::Legacy, "msg_1", 1, body)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert!(names.contains(&"herald-signature") && names.contains(&"webhook-signature"));
        let names: Vec<_> = headers(&standard, Signing::Standard, "msg_1", 1, body)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert!(!names.contains(&"herald-signature") && names.contains(&"webhook-signature"));
    }

    #[test]
    fn legacy_signatures_cover_the_timestamp_and_the_body() {
        let signature = legacy_signature("whsec_test", 1_700_000_000, b"{\"id\":1}");
        assert!(signature.starts_with("v1=") && signature.len() == 3 + 64);
        assert!(verify_legacy(
            "whsec_test",
            1_700_000_000,
            b"{\"id\":1}",
            &signature
        ));
        assert!(!verify_legacy(
            "whsec_test",
            1_700_000_001,
            b"{\"id\":1}",
            &signature
        ));
        assert!(!verify_legacy(
            "whsec_test",
            1_700_000_000,
            b"{\"id\":2}",
            &signature
        ));
        assert!(!verify_legacy(
            "whsec_other",
            1_700_000_000,
            b"{\"id\":1}",
            &signature
        ));
    }

    #[test]
    fn the_legacy_signature_format_does_not_change() {
        assert_eq!(
            legacy_signature("whsec_test", 1_700_000_000, b"{\"id\":1}"),
            "v1=2f441ba4b3b2d50d28a9ab9d9fd8880376ecd1eb5d0435401553f5d8d0a5dcf8"
        );
    }
}
