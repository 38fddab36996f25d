//! Dashboard sessions: a browser signed in with an admin key.
//!
//! The invariant: the table can leak without leaking a session. The browser holds a random
//! id; only its SHA-256 is stored (256 random bits need no slow hash). A session is read
//! joined with the key that opened it, so a revoked key's sessions are not found, whichever
//! API instance asks, and the key's name comes along for the pages and the journal.

use chrono::{DateTime, Utc};
use herald_domain::{ApiKeyId, TenantId};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::error::StoreError;
use crate::millis;

/// A live session, with what the dashboard shows and records about its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardSession {
    pub tenant_id: TenantId,
    pub key_id: ApiKeyId,
    /// The key's name, if it has one.
    pub key_name: Option<String>,
    /// The key's public prefix, to name a key without a name.
    pub key_prefix: String,
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy)]
pub struct DashboardSessions<'a> {
    pool: &'a PgPool,
}

fn hash(session_id: &str) -> Vec<u8> {
    Sha256::digest(session_id.as_bytes()).to_vec()
}

impl<'a> DashboardSessions<'a> {
    pub(crate) fn new(pool: &'a PgPool) -> Self {
        Self { pool }
    }

    /// Records a session `session_id` (the browser's secret) for `key_id` of `tenant_id`
    /// until now + `ttl`, and deletes the sessions that have expired.
    pub async fn open(
        &self,
        session_id: &str,
        tenant_id: TenantId,
        key_id: ApiKeyId,
        csrf: &str,
        ttl: std::time::Duration,
    ) -> Result<(), StoreError> {
        sqlx::query!("DELETE FROM dashboard_sessions WHERE expires_at <= now()")
            .execute(self.pool)
            .await?;
        sqlx::query!(
            "INSERT INTO dashboard_sessions (id_hash, tenant_id, key_id, csrf, expires_at)
             VALUES ($1, $2, $3, $4, now() + $5::bigint * interval '1 millisecond')",
            hash(session_id),
            tenant_id.into_uuid(),
            key_id.into_uuid(),
            csrf,
            millis(ttl)
        )
        .execute(self.pool)
        .await?;
        Ok(())
    }

    /// The session `session_id` names, if it has not expired and its key is not revoked.
    pub async fn live(&self, session_id: &str) -> Result<Option<DashboardSession>, StoreError> {
        let row = sqlx::query!(
            "SELECT s.tenant_id, s.key_id, s.csrf, s.created_at, s.expires_at,
                    k.name AS key_name, k.prefix AS key_prefix
             FROM dashboard_sessions s
             JOIN api_keys k ON k.id = s.key_id AND k.tenant_id = s.tenant_id
             WHERE s.id_hash = $1 AND s.expires_at > now() AND k.revoked_at IS NULL",
            hash(session_id)
        )
        .fetch_optional(self.pool)
        .await?;
        Ok(row.map(|r| DashboardSession {
            tenant_id: r.tenant_id.into(),
            key_id: r.key_id.into(),
            key_name: r.key_name,
            key_prefix: r.key_prefix,
            csrf: r.csrf,
            created_at: r.created_at,
            expires_at: r.expires_at,
        }))
    }

    /// Ends a session (sign-out). Ending an unknown one is not an error.
    pub async fn close(&self, session_id: &str) -> Result<(), StoreError> {
        sqlx::query!(
            "DELETE FROM dashboard_sessions WHERE id_hash = $1",
            hash(session_id)
        )
        .execute(self.pool)
        .await?;
        Ok(())
    }
}
