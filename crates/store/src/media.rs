//! Media uploaded through the API, and the signed URLs platforms fetch them from.
//!
//! The bytes live outside Postgres, in the [`crate::MediaStore`]; a row here records what
//! was checked about them (type, size, pixels, SHA-256) and the key the store keeps them
//! under.
//!
//! Instagram and Threads publish images by URL: the platform fetches the image itself. So
//! every file has a random 256-bit `url_secret`, and a URL
//! `{public_url}/media/{id}?expires={unix seconds}&sig={hex HMAC-SHA256(url_secret, "id:expires")}`
//! grants access until `expires`. Whoever serves the file recomputes the HMAC from the row:
//! no process-wide signing key to distribute, a URL cannot be forged or extended without the
//! secret, and the worker can mint a URL with nothing but the store ([`MediaFiles::signed_url`]).
//!
//! A URL's lifetime is bounded (`media.url_max_ttl_secs`): none is minted for longer, and a
//! URL whose expiry lies further ahead is refused even with a valid signature, so a leaked
//! URL, or one signed with a long lifetime by a mistake, stops working within the bound.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::{MediaId, TenantId};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use sqlx::PgPool;
use subtle::ConstantTimeEq;

use crate::error::{StoreError, violated_constraint};

/// A file to record, once its bytes are in the media store.
#[derive(Debug, Clone)]
pub struct NewMedia {
    pub id: MediaId,
    pub tenant_id: TenantId,
    /// `image/jpeg`, `image/png`, `image/gif` or `image/webp`.
    pub content_type: String,
    pub bytes: i64,
    pub width: i32,
    pub height: i32,
    pub sha256: [u8; 32],
    pub storage_key: String,
    pub filename: Option<String>,
}

/// A stored file's record (its URL secret stays in the database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFile {
    pub id: MediaId,
    pub tenant_id: TenantId,
    pub content_type: String,
    pub bytes: i64,
    pub width: i32,
    pub height: i32,
    pub sha256: Vec<u8>,
    pub storage_key: String,
    pub filename: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A URL that grants access to one file until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedUrl {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy)]
pub struct MediaFiles<'a> {
    pool: &'a PgPool,
}

impl<'a> MediaFiles<'a> {
    pub(crate) fn new(pool: &'a PgPool) -> Self {
        Self { pool }
    }

    /// Records a stored file with a fresh URL secret.
    pub async fn insert(&self, new: &NewMedia) -> Result<MediaFile, StoreError> {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let row = sqlx::query!(
            "INSERT INTO media (id, tenant_id, content_type, bytes, width, height, sha256,
                                storage_key, url_secret, filename)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             RETURNING created_at",
            new.id.into_uuid(),
            new.tenant_id.into_uuid(),
            new.content_type,
            new.bytes,
            new.width,
            new.height,
            &new.sha256[..],
            new.storage_key,
            &secret[..],
            new.filename.as_deref()
        )
        .fetch_one(self.pool)
        .await
        .map_err(|e| match violated_constraint(&e) {
            Some("media_tenant_id_fkey") => StoreError::UnknownTenant(new.tenant_id),
            _ => e.into(),
        })?;
        Ok(MediaFile {
            id: new.id,
            tenant_id: new.tenant_id,
            content_type: new.content_type.clone(),
            bytes: new.bytes,
            width: new.width,
            height: new.height,
            sha256: new.sha256.to_vec(),
            storage_key: new.storage_key.clone(),
            filename: new.filename.clone(),
            created_at: row.created_at,
        })
    }

    /// A tenant's file.
    pub async fn get(
        &self,
        tenant_id: TenantId,
        id: MediaId,
    ) -> Result<Option<MediaFile>, StoreError> {
        Ok(self
            .row(id)
            .await?
            .map(|(file, _)| file)
            .filter(|f| f.tenant_id == tenant_id))
    }

    /// A URL under `public_base` (e.g. `https://herald.example.com`) that serves the file
    /// until now + `ttl`, or now + `max_ttl` if that is sooner. `None` when the file does not
    /// exist.
    pub async fn signed_url(
        &self,
        id: MediaId,
        public_base: &str,
        ttl: Duration,
        max_ttl: Duration,
    ) -> Result<Option<SignedUrl>, StoreError> {
        let Some((_, secret)) = self.row(id).await? else {
            return Ok(None);
        };
        let expires_at = Utc::now() + lifetime(ttl.min(max_ttl));
        let expires = expires_at.timestamp();
        let sig = hex(&signature(&secret, id, expires));
        Ok(Some(SignedUrl {
            url: format!(
                "{}/media/{id}?expires={expires}&sig={sig}",
                public_base.trim_end_matches('/')
            ),
            expires_at,
        }))
    }

    /// The file a signed URL names, if its signature is right, it has not expired, and its
    /// expiry is no further than `max_ttl` from now.
    pub async fn verify(
        &self,
        id: MediaId,
        expires: i64,
        sig: &str,
        max_ttl: Duration,
    ) -> Result<Option<MediaFile>, StoreError> {
        let now = Utc::now().timestamp();
        let latest = now.saturating_add(lifetime(max_ttl).num_seconds());
        if expires < now || expires > latest {
            return Ok(None);
        }
        let Some((file, secret)) = self.row(id).await? else {
            return Ok(None);
        };
        let expected = hex(&signature(&secret, id, expires));
        let matches: bool = expected.as_bytes().ct_eq(sig.as_bytes()).into();
        Ok(matches.then_some(file))
    }

    async fn row(&self, id: MediaId) -> Result<Option<(MediaFile, Vec<u8>)>, StoreError> {
        let row = sqlx::query!(
            "SELECT id, tenant_id, content_type, bytes, width, height, sha256, storage_key,
                    url_secret, filename, created_at
             FROM media WHERE id = $1",
            id.into_uuid()
        )
        .fetch_optional(self.pool)
        .await?;
        Ok(row.map(|r| {
            (
                MediaFile {
                    id: r.id.into(),
                    tenant_id: r.tenant_id.into(),
                    content_type: r.content_type,
                    bytes: r.bytes,
                    width: r.width,
                    height: r.height,
                    sha256: r.sha256,
                    storage_key: r.storage_key,
                    filename: r.filename,
                    created_at: r.created_at,
                },
                r.url_secret,
            )
        }))
    }
}

/// A lifetime as a [`TimeDelta`]; one too long to represent is capped at a century, far
/// beyond any configured bound.
fn lifetime(ttl: Duration) -> TimeDelta {
    const CENTURY: TimeDelta = TimeDelta::days(36_500);
    TimeDelta::from_std(ttl).unwrap_or(CENTURY).min(CENTURY)
}

fn signature(secret: &[u8], id: MediaId, expires: i64) -> Vec<u8> {
    // HMAC takes keys of any length; this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return Vec::new();
    };
    mac.update(format!("{id}:{expires}").as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}
