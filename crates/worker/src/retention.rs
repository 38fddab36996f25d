//! The retention sweep: media nobody needs any more are deleted, bytes and rows.
//!
//! Two kinds of files expire (`herald_store::MediaFiles::sweep_expired` says exactly which):
//! copies the worker derived for one platform once their `expires_at` passes, and uploads
//! older than `media.retention_days` that no post or delivery refers to. A post refers to
//! its media for as long as it exists, so a scheduled post's media are never deleted.
//!
//! Every worker process runs this loop; each round takes a bounded batch of rows locked
//! with `FOR UPDATE SKIP LOCKED`, so several workers share the work without deleting a file
//! twice, and a round cut short (the process stopping, Postgres going away) leaves rows
//! whose bytes are gone at worst, which the next round deletes. A full batch is followed
//! at once by another; otherwise the loop waits `interval`.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use herald_store::{MediaStore, Store, Swept};
use tokio_util::sync::CancellationToken;

/// How the sweep runs.
#[derive(Debug, Clone)]
pub struct RetentionSettings {
    /// How old an unreferenced upload may get (`media.retention_days`).
    pub retention: Duration,
    /// Pause between rounds that found less than a batch.
    pub interval: Duration,
    /// Most files one round deletes.
    pub batch: i64,
}

/// One round: deletes at most a batch of expired files.
#[tracing::instrument(skip_all)]
pub async fn sweep_once(
    store: &Store,
    media: &MediaStore,
    settings: &RetentionSettings,
) -> Result<Swept, herald_store::StoreError> {
    let retention = TimeDelta::from_std(settings.retention).unwrap_or(TimeDelta::MAX);
    let cutoff = Utc::now()
        .checked_sub_signed(retention)
        .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
    let swept = store
        .media()
        .sweep_expired(media, cutoff, settings.batch)
        .await?;
    if swept.derived + swept.uploads + swept.failed > 0 {
        tracing::info!(
            derived = swept.derived,
            uploads = swept.uploads,
            failed = swept.failed,
            "expired media deleted"
        );
    }
    Ok(swept)
}

/// Sweeps until `stop` is cancelled.
pub async fn run(
    store: Store,
    media: MediaStore,
    settings: RetentionSettings,
    stop: CancellationToken,
) {
    loop {
        let full = match sweep_once(&store, &media, &settings).await {
            Ok(swept) => {
                i64::try_from(swept.derived + swept.uploads).unwrap_or(i64::MAX) >= settings.batch
            }
            Err(error) => {
                tracing::warn!(%error, "the media retention sweep failed; trying again later");
                false
            }
        };
        let pause = if full {
            Duration::ZERO
        } else {
            settings.interval
        };
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}
