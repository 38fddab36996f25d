//! Key rotation: moving every sealed value to the newest key.
//!
//! After a new key is put in front of `HERALD_ENCRYPTION_KEYS`, new writes use it at once and
//! old rows still open with the older keys. [`reseal_all`] then re-seals, in small batches,
//! every value whose key id is not the newest, so the old key can eventually be removed.
//!
//! Invariants: each row is rewritten by `UPDATE ... WHERE col = $old`, so a value that changed
//! meanwhile (a token refresh) is left alone rather than overwritten with a stale one; and the
//! walk goes by id, so an interrupted run can simply be started again, and a run over data
//! that is already current changes nothing.

use sqlx::PgPool;
use uuid::Uuid;

use crate::error::StoreError;
use crate::sealing::{Keyring, SealedField};

const BATCH: i64 = 100;

/// What a re-seal run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResealReport {
    /// Values moved to the newest key.
    pub resealed: u64,
    /// Values that changed while the run looked at them; they were written by someone else,
    /// under whatever key that writer had. Run again to catch any under an old key.
    pub changed_meanwhile: u64,
    /// Values that could not be opened (their key is gone, or they were altered). Left as
    /// they are and logged with their row id.
    pub unreadable: u64,
}

impl std::fmt::Display for ResealReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "re-sealed {} value(s) under the newest key; {} changed while the run looked at \
             them (run again to catch any left under an old key); {} could not be opened",
            self.resealed, self.changed_meanwhile, self.unreadable
        )
    }
}

impl ResealReport {
    fn add(&mut self, outcome: Resealed) {
        match outcome {
            Resealed::Done => self.resealed += 1,
            Resealed::Changed => self.changed_meanwhile += 1,
            Resealed::Unreadable => self.unreadable += 1,
        }
    }
}

#[derive(Clone, Copy)]
enum Resealed {
    Done,
    Changed,
    Unreadable,
}

/// Re-seals every sealed column (connections' access and refresh tokens, OAuth states' PKCE
/// verifiers) that is not under the keyring's newest key.
pub async fn reseal_all(pool: &PgPool, keyring: &Keyring) -> Result<ResealReport, StoreError> {
    let mut report = ResealReport::default();
    reseal_access_tokens(pool, keyring, &mut report).await?;
    reseal_refresh_tokens(pool, keyring, &mut report).await?;
    reseal_pkce_verifiers(pool, keyring, &mut report).await?;
    tracing::info!(
        resealed = report.resealed,
        changed_meanwhile = report.changed_meanwhile,
        unreadable = report.unreadable,
        key_id = keyring.newest_key_id(),
        "re-seal finished"
    );
    Ok(report)
}

/// The value re-sealed under the newest key, or `None` if it does not open.
fn reseal(keyring: &Keyring, sealed: &str, place: SealedField) -> Option<String> {
    let opened = keyring
        .open(sealed, place)
        .and_then(|plain| keyring.seal(secrecy::ExposeSecret::expose_secret(&plain), place));
    match opened {
        Ok(resealed) => Some(resealed),
        Err(error) => {
            tracing::warn!(%error, "sealed value left under its old key");
            None
        }
    }
}

async fn reseal_access_tokens(
    pool: &PgPool,
    keyring: &Keyring,
    report: &mut ResealReport,
) -> Result<(), StoreError> {
    let mut after = Uuid::nil();
    loop {
        let rows = sqlx::query!(
            "SELECT id, access_token FROM connections
             WHERE id > $1 AND split_part(access_token, ':', 1) <> $2
             ORDER BY id LIMIT $3",
            after,
            keyring.newest_key_id(),
            BATCH
        )
        .fetch_all(pool)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = last.id;
        for row in rows {
            let place = SealedField::new("connections", row.id, "access_token");
            let Some(new) = reseal(keyring, &row.access_token, place) else {
                report.add(Resealed::Unreadable);
                continue;
            };
            let updated = sqlx::query!(
                "UPDATE connections SET access_token = $3 WHERE id = $1 AND access_token = $2",
                row.id,
                row.access_token,
                new
            )
            .execute(pool)
            .await?;
            report.add(written(updated.rows_affected()));
        }
    }
}

async fn reseal_refresh_tokens(
    pool: &PgPool,
    keyring: &Keyring,
    report: &mut ResealReport,
) -> Result<(), StoreError> {
    let mut after = Uuid::nil();
    loop {
        let rows = sqlx::query!(
            r#"SELECT id, refresh_token AS "refresh_token!" FROM connections
               WHERE id > $1 AND refresh_token IS NOT NULL
                 AND split_part(refresh_token, ':', 1) <> $2
               ORDER BY id LIMIT $3"#,
            after,
            keyring.newest_key_id(),
            BATCH
        )
        .fetch_all(pool)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = last.id;
        for row in rows {
            let place = SealedField::new("connections", row.id, "refresh_token");
            let Some(new) = reseal(keyring, &row.refresh_token, place) else {
                report.add(Resealed::Unreadable);
                continue;
            };
            let updated = sqlx::query!(
                "UPDATE connections SET refresh_token = $3 WHERE id = $1 AND refresh_token = $2",
                row.id,
                row.refresh_token,
                new
            )
            .execute(pool)
            .await?;
            report.add(written(updated.rows_affected()));
        }
    }
}

async fn reseal_pkce_verifiers(
    pool: &PgPool,
    keyring: &Keyring,
    report: &mut ResealReport,
) -> Result<(), StoreError> {
    let mut after = Uuid::nil();
    loop {
        let rows = sqlx::query!(
            r#"SELECT id, pkce_verifier AS "pkce_verifier!" FROM oauth_states
               WHERE id > $1 AND pkce_verifier IS NOT NULL
                 AND split_part(pkce_verifier, ':', 1) <> $2
               ORDER BY id LIMIT $3"#,
            after,
            keyring.newest_key_id(),
            BATCH
        )
        .fetch_all(pool)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = last.id;
        for row in rows {
            let place = SealedField::new("oauth_states", row.id, "pkce_verifier");
            let Some(new) = reseal(keyring, &row.pkce_verifier, place) else {
                report.add(Resealed::Unreadable);
                continue;
            };
            let updated = sqlx::query!(
                "UPDATE oauth_states SET pkce_verifier = $3 WHERE id = $1 AND pkce_verifier = $2",
                row.id,
                row.pkce_verifier,
                new
            )
            .execute(pool)
            .await?;
            report.add(written(updated.rows_affected()));
        }
    }
}

fn written(rows_affected: u64) -> Resealed {
    if rows_affected == 1 {
        Resealed::Done
    } else {
        Resealed::Changed
    }
}
