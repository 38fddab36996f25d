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

/// Re-seals every sealed column (connections' access, refresh and owner tokens, OAuth states' PKCE
/// verifiers, webhook signing secrets) that is not under the keyring's newest key.
pub async fn reseal_all(pool: &PgPool, keyring: &Keyring) -> Result<ResealReport, StoreError> {
    let mut report = ResealReport::default();
    for column in Column::ALL {
        reseal_column(pool, keyring, column, &mut report).await?;
    }
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
            tracing::warn!(%error, %place, "sealed value left under its old key");
            None
        }
    }
}

/// A sealed column, with the two statements a re-seal needs. The statements stay static (one
/// arm each) so sqlx checks them at compile time; the walk over them is written once, in
/// [`reseal_column`].
#[derive(Debug, Clone, Copy)]
enum Column {
    AccessToken,
    RefreshToken,
    UserAccessToken,
    PkceVerifier,
    WebhookSecret,
}

impl Column {
    const ALL: [Column; 5] = [
        Column::AccessToken,
        Column::RefreshToken,
        Column::UserAccessToken,
        Column::PkceVerifier,
        Column::WebhookSecret,
    ];

    fn place(self, id: Uuid) -> SealedField {
        match self {
            Column::AccessToken => SealedField::new("connections", id, "access_token"),
            Column::RefreshToken => SealedField::new("connections", id, "refresh_token"),
            Column::UserAccessToken => SealedField::new("connections", id, "user_access_token"),
            Column::PkceVerifier => SealedField::new("oauth_states", id, "pkce_verifier"),
            Column::WebhookSecret => SealedField::new("webhooks", id, "secret"),
        }
    }

    /// Up to [`BATCH`] rows after `after` (by id) whose value is not under `newest`.
    async fn stale_batch(
        self,
        pool: &PgPool,
        after: Uuid,
        newest: &str,
    ) -> Result<Vec<(Uuid, String)>, StoreError> {
        Ok(match self {
            Column::AccessToken => sqlx::query!(
                "SELECT id, access_token FROM connections
             WHERE id > $1 AND split_part(access_token, ':', 1) <> $2
             ORDER BY id LIMIT $3",
                after,
                newest,
                BATCH
            )
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| (row.id, row.access_token))
            .collect(),
            Column::RefreshToken => sqlx::query!(
                r#"SELECT id, refresh_token AS "refresh_token!" FROM connections
               WHERE id > $1 AND refresh_token IS NOT NULL
                 AND split_part(refresh_token, ':', 1) <> $2
               ORDER BY id LIMIT $3"#,
                after,
                newest,
                BATCH
            )
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| (row.id, row.refresh_token))
            .collect(),
            Column::UserAccessToken => sqlx::query!(
                r#"SELECT id, user_access_token AS "user_access_token!" FROM connections
               WHERE id > $1 AND user_access_token IS NOT NULL
                 AND split_part(user_access_token, ':', 1) <> $2
               ORDER BY id LIMIT $3"#,
                after,
                newest,
                BATCH
            )
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| (row.id, row.user_access_token))
            .collect(),
            Column::PkceVerifier => sqlx::query!(
                r#"SELECT id, pkce_verifier AS "pkce_verifier!" FROM oauth_states
               WHERE id > $1 AND pkce_verifier IS NOT NULL
                 AND split_part(pkce_verifier, ':', 1) <> $2
               ORDER BY id LIMIT $3"#,
                after,
                newest,
                BATCH
            )
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| (row.id, row.pkce_verifier))
            .collect(),
            Column::WebhookSecret => sqlx::query!(
                "SELECT id, secret FROM webhooks
                 WHERE id > $1 AND split_part(secret, ':', 1) <> $2
                 ORDER BY id LIMIT $3",
                after,
                newest,
                BATCH
            )
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| (row.id, row.secret))
            .collect(),
        })
    }

    /// Replaces `old` with `new` unless the row changed meanwhile; the rows it wrote.
    async fn swap(self, pool: &PgPool, id: Uuid, old: &str, new: &str) -> Result<u64, StoreError> {
        let done = match self {
            Column::AccessToken => {
                sqlx::query!(
                    "UPDATE connections SET access_token = $3 WHERE id = $1 AND access_token = $2",
                    id,
                    old,
                    new
                )
                .execute(pool)
                .await?
            }
            Column::RefreshToken => sqlx::query!(
                "UPDATE connections SET refresh_token = $3 WHERE id = $1 AND refresh_token = $2",
                id,
                old,
                new
            )
            .execute(pool)
            .await?,
            Column::UserAccessToken => {
                sqlx::query!(
                    "UPDATE connections SET user_access_token = $3
                 WHERE id = $1 AND user_access_token = $2",
                    id,
                    old,
                    new
                )
                .execute(pool)
                .await?
            }
            Column::PkceVerifier => sqlx::query!(
                "UPDATE oauth_states SET pkce_verifier = $3 WHERE id = $1 AND pkce_verifier = $2",
                id,
                old,
                new
            )
            .execute(pool)
            .await?,
            Column::WebhookSecret => {
                sqlx::query!(
                    "UPDATE webhooks SET secret = $3 WHERE id = $1 AND secret = $2",
                    id,
                    old,
                    new
                )
                .execute(pool)
                .await?
            }
        };
        Ok(done.rows_affected())
    }
}

async fn reseal_column(
    pool: &PgPool,
    keyring: &Keyring,
    column: Column,
    report: &mut ResealReport,
) -> Result<(), StoreError> {
    let mut after = Uuid::nil();
    loop {
        let rows = column
            .stale_batch(pool, after, keyring.newest_key_id())
            .await?;
        let Some(&(last, _)) = rows.last() else {
            return Ok(());
        };
        after = last;
        for (id, sealed) in rows {
            let Some(new) = reseal(keyring, &sealed, column.place(id)) else {
                report.add(Resealed::Unreadable);
                continue;
            };
            report.add(written(column.swap(pool, id, &sealed, &new).await?));
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
