//! Sealing: how tokens rest in Postgres.
//!
//! Every token (and PKCE verifier) is encrypted with AES-256-GCM before it is written and
//! opened after it is read; the database only ever holds `{key_id}:{base64url(nonce ||
//! ciphertext)}`. Three invariants:
//!
//! - **A fresh random 96-bit nonce per seal.** Sealing the same token twice gives two
//!   unrelated ciphertexts, and no (key, nonce) pair is ever reused.
//! - **The place is part of the message.** The associated data is `{table}:{row_id}:{field}`,
//!   so a ciphertext copied to another row or another column (someone's refresh token pasted
//!   into your access token) fails to open instead of quietly authenticating as someone else.
//! - **Keys rotate without a flag day.** The keyring (`HERALD_ENCRYPTION_KEYS`) lists keys
//!   newest first. Sealing always uses the newest; opening uses whichever key the prefix
//!   names, so old rows keep working until `reseal_all` moves them to the newest key.
//!
//! Key bytes live in zeroizing `secrecy` boxes and never appear in `Debug` output or errors.

use std::collections::HashSet;
use std::fmt;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use uuid::Uuid;

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const MAX_KEY_ID_LEN: usize = 32;

/// Where a sealed value lives: it is bound to exactly this table, row and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedField {
    pub table: &'static str,
    pub row_id: Uuid,
    pub field: &'static str,
}

impl SealedField {
    pub fn new(table: &'static str, row_id: impl Into<Uuid>, field: &'static str) -> Self {
        Self {
            table,
            row_id: row_id.into(),
            field,
        }
    }

    fn associated_data(&self) -> String {
        format!("{}:{}:{}", self.table, self.row_id, self.field)
    }
}

impl fmt::Display for SealedField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{} of row {}", self.table, self.field, self.row_id)
    }
}

/// The encryption keys, newest first.
pub struct Keyring {
    keys: Vec<SealingKey>,
}

struct SealingKey {
    id: String,
    key: SecretBox<[u8; KEY_LEN]>,
}

impl SealingKey {
    fn cipher(&self) -> Aes256Gcm {
        // A 32-byte array is always a valid AES-256 key.
        Aes256Gcm::new(self.key.expose_secret().into())
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("key_ids", &self.key_ids().collect::<Vec<_>>())
            .finish()
    }
}

impl Keyring {
    /// Parses the `HERALD_ENCRYPTION_KEYS` format: comma-separated `key_id:base64(32 bytes)`
    /// entries, newest first. Key ids are 1 to 32 of `A-Z a-z 0-9 _ -` and must be distinct.
    /// Blank entries (a trailing comma, a line break) are ignored.
    pub fn parse(spec: &str) -> Result<Self, KeyringError> {
        let mut keys = Vec::new();
        let mut seen = HashSet::new();
        let entries = spec.split(',').map(str::trim).filter(|e| !e.is_empty());
        for (index, entry) in entries.enumerate() {
            let position = index + 1;
            let (id, material) = entry.split_once(':').ok_or(KeyringError::Entry {
                position,
                rule: "expected `key_id:base64-key`",
            })?;
            let id = id.trim();
            if !is_valid_key_id(id) {
                return Err(KeyringError::Entry {
                    position,
                    rule: "the key id must be 1 to 32 characters of A-Z, a-z, 0-9, `_` or `-`",
                });
            }
            if !seen.insert(id.to_owned()) {
                return Err(KeyringError::DuplicateKeyId {
                    position,
                    key_id: id.to_owned(),
                });
            }
            let key = decode_key(material.trim()).ok_or(KeyringError::Entry {
                position,
                rule: "the key must be 32 bytes, base64-encoded (44 characters with padding)",
            })?;
            keys.push(SealingKey {
                id: id.to_owned(),
                key,
            });
        }
        if keys.is_empty() {
            return Err(KeyringError::Empty);
        }
        Ok(Self { keys })
    }

    /// A new random key as one `key_id:base64` entry, ready to be put in front of
    /// `HERALD_ENCRYPTION_KEYS`. The id is the date plus a random suffix, so ids read in
    /// the order keys were made.
    pub fn generate_entry() -> String {
        let mut key = [0u8; KEY_LEN];
        rand::rng().fill_bytes(&mut key);
        let suffix: u16 = rand::random();
        let entry = format!(
            "k{}-{suffix:04x}:{}",
            chrono::Utc::now().format("%Y%m%d"),
            STANDARD.encode(key)
        );
        secrecy::zeroize::Zeroize::zeroize(&mut key);
        entry
    }

    /// The id of the key new values are sealed with.
    pub fn newest_key_id(&self) -> &str {
        // `parse` refuses an empty keyring.
        self.keys.first().map_or("", |k| k.id.as_str())
    }

    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.id.as_str())
    }

    /// Seals `plaintext` for `place` with the newest key.
    pub fn seal(&self, plaintext: &str, place: SealedField) -> Result<String, SealError> {
        let key = self.keys.first().ok_or(SealError::NoKey)?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = place.associated_data();
        let ciphertext = key
            .cipher()
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Encrypt { place })?;
        let mut body = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&ciphertext);
        Ok(format!("{}:{}", key.id, URL_SAFE_NO_PAD.encode(body)))
    }

    /// Opens a value sealed for `place`, with the key its prefix names.
    pub fn open(&self, sealed: &str, place: SealedField) -> Result<SecretString, SealError> {
        let (key_id, body) = sealed
            .split_once(':')
            .ok_or(SealError::Malformed { place })?;
        let body = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SealError::Malformed { place })?;
        if body.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError::Malformed { place });
        }
        let key =
            self.keys
                .iter()
                .find(|k| k.id == key_id)
                .ok_or_else(|| SealError::UnknownKey {
                    key_id: key_id.chars().take(MAX_KEY_ID_LEN).collect(),
                    place,
                })?;
        let (nonce, ciphertext) = body.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce
            .try_into()
            .map_err(|_| SealError::Malformed { place })?;
        let aad = place.associated_data();
        let plaintext = key
            .cipher()
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Forged { place })?;
        let text = String::from_utf8(plaintext).map_err(|_| SealError::Malformed { place })?;
        Ok(SecretString::from(text))
    }

    /// Whether a sealed value is under an older key than the newest (or is not a sealed value
    /// at all) and should be re-sealed.
    pub fn needs_reseal(&self, sealed: &str) -> bool {
        sealed
            .split_once(':')
            .is_none_or(|(key_id, _)| key_id != self.newest_key_id())
    }
}

fn is_valid_key_id(id: &str) -> bool {
    (1..=MAX_KEY_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn decode_key(material: &str) -> Option<SecretBox<[u8; KEY_LEN]>> {
    let mut bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(material).ok())?;
    let key = <[u8; KEY_LEN]>::try_from(bytes.as_slice())
        .ok()
        .map(|key| SecretBox::new(Box::new(key)));
    secrecy::zeroize::Zeroize::zeroize(&mut bytes);
    key
}

/// `HERALD_ENCRYPTION_KEYS` could not be read. Messages name the entry and the rule it broke,
/// never the key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    #[error(
        "HERALD_ENCRYPTION_KEYS holds no keys: expected `key_id:base64-key[,...]`, newest first"
    )]
    Empty,
    #[error("HERALD_ENCRYPTION_KEYS entry {position}: {rule}")]
    Entry { position: usize, rule: &'static str },
    #[error("HERALD_ENCRYPTION_KEYS entry {position}: key id `{key_id}` is used twice")]
    DuplicateKeyId { position: usize, key_id: String },
}

/// A value could not be sealed or opened. Names the place, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the keyring holds no key to seal with")]
    NoKey,
    #[error("could not seal {place}")]
    Encrypt { place: SealedField },
    #[error("{place} is not a sealed value")]
    Malformed { place: SealedField },
    #[error("{place} is sealed with key `{key_id}`, which is not in HERALD_ENCRYPTION_KEYS")]
    UnknownKey { key_id: String, place: SealedField },
    #[error(
        "{place} does not open: it was sealed for another row or field, or with other key \
         material under the same key id, or it was altered"
    )]
    Forged { place: SealedField },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> SealedField {
        SealedField::new("connections", Uuid::nil(), "access_token")
    }

    #[test]
    fn generated_entries_parse_and_seal() {
        let ring = Keyring::parse(&Keyring::generate_entry()).unwrap();
        let sealed = ring.seal("token", place()).unwrap();
        assert!(sealed.starts_with(&format!("{}:", ring.newest_key_id())));
        assert_eq!(
            ring.open(&sealed, place()).unwrap().expose_secret(),
            "token"
        );
    }

    #[test]
    fn parse_errors_name_the_entry_and_never_the_key() {
        let good = Keyring::generate_entry();
        let err = Keyring::parse(&format!("{good}, bad key:{}", STANDARD.encode([1u8; 32])))
            .unwrap_err()
            .to_string();
        assert!(err.contains("entry 2") && err.contains("key id"), "{err}");

        let short = STANDARD.encode([9u8; 16]);
        let err = Keyring::parse(&format!("k1:{short}"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("entry 1") && err.contains("32 bytes"), "{err}");
        assert!(!err.contains(&short), "{err}");

        let err =
            Keyring::parse(&format!("k1:{s},k1:{s}", s = STANDARD.encode([1u8; 32]))).unwrap_err();
        assert!(matches!(
            err,
            KeyringError::DuplicateKeyId { position: 2, .. }
        ));
        assert_eq!(Keyring::parse(" , ").unwrap_err(), KeyringError::Empty);
    }

    #[test]
    fn debug_shows_key_ids_only() {
        let material = STANDARD.encode([42u8; 32]);
        let ring = Keyring::parse(&format!("new:{material},old:{material}")).unwrap();
        let debug = format!("{ring:?}");
        assert_eq!(debug, r#"Keyring { key_ids: ["new", "old"] }"#);
    }
}
