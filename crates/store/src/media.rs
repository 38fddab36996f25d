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
use herald_domain::{MediaId, MediaKind, Platform, TenantId};
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
    /// One of `media_kinds`: `image/jpeg`, `image/png`, `image/gif`, `image/webp`,
    /// `video/mp4` or `video/quicktime`.
    pub content_type: String,
    pub bytes: i64,
    pub width: i32,
    pub height: i32,
    pub sha256: [u8; 32],
    pub storage_key: String,
    pub filename: Option<String>,
    /// A video's facts; `None` for an image.
    pub video: Option<VideoFacts>,
    /// For a copy prepared for one platform: what it was made from and how.
    pub derived: Option<Derivation>,
    /// When the row and its bytes may be deleted (derived copies, unreferenced uploads).
    pub expires_at: Option<DateTime<Utc>>,
}

/// What a stored video's platforms judge it by, read from its metadata when it was stored.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoFacts {
    pub duration_ms: i64,
    pub frame_rate: f64,
    pub video_codec: String,
    pub audio_codec: Option<String>,
    pub moov_first: bool,
}

/// A copy of `source` prepared for `platform` by `recipe` (`jpeg`, `scale:WxH`, `pad:R`...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derivation {
    pub source: MediaId,
    pub platform: Platform,
    pub recipe: String,
}

/// A stored file's record (its URL secret stays in the database).
#[derive(Debug, Clone, PartialEq)]
pub struct MediaFile {
    pub id: MediaId,
    pub tenant_id: TenantId,
    pub kind: MediaKind,
    pub content_type: String,
    pub bytes: i64,
    pub width: i32,
    pub height: i32,
    pub sha256: Vec<u8>,
    pub storage_key: String,
    pub filename: Option<String>,
    pub created_at: DateTime<Utc>,
    pub video: Option<VideoFacts>,
    pub derived: Option<Derivation>,
    pub expires_at: Option<DateTime<Utc>>,
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

    /// Records a stored file with a fresh URL secret. A derived copy that another process
    /// recorded first (same source, platform and recipe) is not recorded twice: the one
    /// already there is returned, and the caller's bytes under `new.storage_key` are
    /// surplus.
    pub async fn insert(&self, new: &NewMedia) -> Result<MediaFile, StoreError> {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let kind = if new.video.is_some() {
            MediaKind::Video
        } else {
            MediaKind::Image
        };
        let video = new.video.as_ref();
        let derived = new.derived.as_ref();
        let inserted = sqlx::query!(
            "INSERT INTO media (id, tenant_id, content_type, bytes, width, height, sha256,
                                storage_key, url_secret, filename, kind, duration_ms, frame_rate,
                                video_codec, audio_codec, moov_first, derived_from, derived_for,
                                recipe, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                     $17, $18, $19, $20)
             ON CONFLICT (derived_from, derived_for, recipe) WHERE derived_from IS NOT NULL
             DO NOTHING
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
            new.filename.as_deref(),
            kind.as_str(),
            video.map(|v| v.duration_ms),
            video.map(|v| v.frame_rate),
            video.map(|v| v.video_codec.as_str()),
            video.and_then(|v| v.audio_codec.as_deref()),
            video.map(|v| v.moov_first),
            derived.map(|d| d.source.into_uuid()),
            derived.map(|d| d.platform.as_str()),
            derived.map(|d| d.recipe.as_str()),
            new.expires_at,
        )
        .fetch_optional(self.pool)
        .await
        .map_err(|e| match violated_constraint(&e) {
            Some("media_tenant_id_fkey") => StoreError::UnknownTenant(new.tenant_id),
            _ => e.into(),
        })?;
        let Some(row) = inserted else {
            // Only a derived copy can conflict.
            let missing = || StoreError::corrupt("media", &"a conflicting derived copy vanished");
            let Some(d) = derived else {
                return Err(missing());
            };
            return self
                .derived(d.source, d.platform, &d.recipe)
                .await?
                .ok_or_else(missing);
        };
        Ok(MediaFile {
            id: new.id,
            tenant_id: new.tenant_id,
            kind,
            content_type: new.content_type.clone(),
            bytes: new.bytes,
            width: new.width,
            height: new.height,
            sha256: new.sha256.to_vec(),
            storage_key: new.storage_key.clone(),
            filename: new.filename.clone(),
            created_at: row.created_at,
            video: new.video.clone(),
            derived: new.derived.clone(),
            expires_at: new.expires_at,
        })
    }

    /// The copy of `source` made for `platform` by `recipe`, if one was recorded.
    pub async fn derived(
        &self,
        source: MediaId,
        platform: Platform,
        recipe: &str,
    ) -> Result<Option<MediaFile>, StoreError> {
        let id = sqlx::query_scalar!(
            "SELECT id FROM media WHERE derived_from = $1 AND derived_for = $2 AND recipe = $3",
            source.into_uuid(),
            platform.as_str(),
            recipe
        )
        .fetch_optional(self.pool)
        .await?;
        match id {
            Some(id) => Ok(self.row(id.into()).await?.map(|(file, _)| file)),
            None => Ok(None),
        }
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
                    url_secret, filename, created_at, kind, duration_ms, frame_rate,
                    video_codec, audio_codec, moov_first, derived_from, derived_for, recipe,
                    expires_at
             FROM media WHERE id = $1",
            id.into_uuid()
        )
        .fetch_optional(self.pool)
        .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        let kind: MediaKind = r
            .kind
            .parse()
            .map_err(|e| StoreError::corrupt("media kind", &e))?;
        let video = match (r.duration_ms, r.frame_rate, r.video_codec, r.moov_first) {
            (Some(duration_ms), Some(frame_rate), Some(video_codec), Some(moov_first)) => {
                Some(VideoFacts {
                    duration_ms,
                    frame_rate,
                    video_codec,
                    audio_codec: r.audio_codec,
                    moov_first,
                })
            }
            _ => None,
        };
        let derived = match (r.derived_from, r.derived_for, r.recipe) {
            (Some(source), Some(platform), Some(recipe)) => Some(Derivation {
                source: source.into(),
                platform: platform
                    .parse()
                    .map_err(|e| StoreError::corrupt("media platform", &e))?,
                recipe,
            }),
            _ => None,
        };
        Ok(Some((
            MediaFile {
                id: r.id.into(),
                tenant_id: r.tenant_id.into(),
                kind,
                content_type: r.content_type,
                bytes: r.bytes,
                width: r.width,
                height: r.height,
                sha256: r.sha256,
                storage_key: r.storage_key,
                filename: r.filename,
                created_at: r.created_at,
                video,
                derived,
                expires_at: r.expires_at,
            },
            r.url_secret,
        )))
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

/// What one retention sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Expired derived copies deleted, bytes and row.
    pub derived: usize,
    /// Old uploads no post or delivery refers to, deleted, bytes and row.
    pub uploads: usize,
    /// Files whose bytes could not be deleted: their rows stay, for the next sweep.
    pub failed: usize,
}

/// A row the sweep chose.
struct Expired {
    id: uuid::Uuid,
    storage_key: String,
}

impl MediaFiles<'_> {
    /// Deletes at most `batch` expired files, bytes first, then rows:
    ///
    /// - **derived copies** whose `expires_at` has passed (the worker makes one again if a
    ///   delivery still needs it);
    /// - **uploads** created before `uploaded_before` that no post and no delivery refers to
    ///   (`content->'media'` holding `{"media_id": id}`, answered by the GIN indexes of
    ///   migration 0030) and no derived copy is made from (those expire first, then their
    ///   source goes in a later sweep). A post refers to its media for as long as it exists,
    ///   so a scheduled post's media are never deleted.
    ///
    /// The chosen rows stay locked (`FOR UPDATE SKIP LOCKED`) while their bytes are
    /// deleted, so several workers sweeping at once share the work and never delete the
    /// same file twice. A file whose bytes cannot be deleted keeps its row and is tried again
    /// in the next sweep; bytes deleted under a row that then stays (the transaction fails)
    /// are a missing file, which a later sweep deletes the row of.
    pub async fn sweep_expired(
        &self,
        media: &crate::MediaStore,
        uploaded_before: DateTime<Utc>,
        batch: i64,
    ) -> Result<Swept, StoreError> {
        let mut tx = self.pool.begin().await?;
        let derived = sqlx::query_as!(
            Expired,
            "SELECT id, storage_key FROM media
             WHERE derived_from IS NOT NULL AND expires_at < now()
             ORDER BY expires_at
             LIMIT $1
             FOR UPDATE SKIP LOCKED",
            batch
        )
        .fetch_all(&mut *tx)
        .await?;
        let left = batch - i64::try_from(derived.len()).unwrap_or(batch);
        let uploads = if left > 0 {
            sqlx::query_as!(
                Expired,
                r#"SELECT m.id, m.storage_key FROM media m
                   WHERE m.derived_from IS NULL AND m.created_at < $1
                     AND NOT EXISTS (SELECT 1 FROM media d WHERE d.derived_from = m.id)
                     AND NOT EXISTS (
                         SELECT 1 FROM posts p
                         WHERE p.content -> 'media'
                               @> jsonb_build_array(jsonb_build_object('media_id', m.id::text)))
                     AND NOT EXISTS (
                         SELECT 1 FROM deliveries d
                         WHERE d.content -> 'media'
                               @> jsonb_build_array(jsonb_build_object('media_id', m.id::text)))
                   ORDER BY m.created_at
                   LIMIT $2
                   FOR UPDATE OF m SKIP LOCKED"#,
                uploaded_before,
                left
            )
            .fetch_all(&mut *tx)
            .await?
        } else {
            Vec::new()
        };
        let mut swept = Swept::default();
        let mut gone = Vec::with_capacity(derived.len() + uploads.len());
        for (rows, count) in [(derived, &mut swept.derived), (uploads, &mut swept.uploads)] {
            for row in rows {
                match media.delete(&row.storage_key).await {
                    Ok(()) => {
                        gone.push(row.id);
                        *count += 1;
                    }
                    Err(crate::MediaStoreError::InvalidKey) => {
                        // Nothing Herald wrote is under such a key: only the row goes.
                        gone.push(row.id);
                        *count += 1;
                    }
                    Err(error) => {
                        tracing::warn!(media_id = %row.id, %error, "cannot delete an expired media file; kept for the next sweep");
                        swept.failed += 1;
                    }
                }
            }
        }
        sqlx::query!("DELETE FROM media WHERE id = ANY($1)", &gone[..])
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(swept)
    }
}
