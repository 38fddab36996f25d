//! Webhooks: URLs of a tenant that receive its delivery events, signed and retried.
//!
//! Invariants kept here:
//!
//! - **Each event is queued for a webhook once.** [`Webhooks::fan_out`] locks webhook rows
//!   (`SKIP LOCKED`, so several worker processes share the work), copies the tenant's events
//!   after the webhook's cursor into `webhook_deliveries` and advances the cursor in the same
//!   transaction; `UNIQUE (webhook_id, event_id)` backs it up.
//! - **Late commits are not skipped.** An event id is taken when its transaction inserts it,
//!   so an event can commit after one with a larger id was already read. Fan-out only reads
//!   events older than [`SETTLE`], by which time every statement that inserts events (each
//!   is a single short statement) has committed.
//! - **A delivery attempt is leased.** [`Webhooks::claim_due`] pushes `next_attempt_at` past
//!   the request's time limit while it is sent, so a crashed sender's attempt is retried and
//!   two senders never send the same attempt at once.
//! - The signing secret is sealed like a token and shown once, when the webhook is created.

use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_domain::TenantId;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{StoreError, violated_constraint};
use crate::millis;
use crate::sealing::{Keyring, SealedField};

const TABLE: &str = "webhooks";

/// How old an event must be before fan-out reads it (see the module documentation).
pub const SETTLE: Duration = Duration::from_millis(500);

/// A registered webhook (its secret is never read back out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub url: String,
    pub event_types: Vec<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// One event sent (or being sent) to one webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookDelivery {
    pub id: i64,
    pub webhook_id: Uuid,
    pub event_id: i64,
    pub event_type: String,
    pub payload: serde_json::Value,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status: Option<i16>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// An attempt a sender now owns: where to send what, signed with which secret.
#[derive(Debug, Clone)]
pub struct DueWebhookDelivery {
    pub id: i64,
    pub webhook_id: Uuid,
    pub url: String,
    pub secret: SecretString,
    pub payload: serde_json::Value,
    /// Including this one.
    pub attempts: i32,
}

/// What became of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    RetryAt(DateTime<Utc>),
    Failed,
}

#[derive(Debug, Clone, Copy)]
pub struct Webhooks<'a> {
    pool: &'a PgPool,
    keyring: &'a Keyring,
}

impl<'a> Webhooks<'a> {
    pub(crate) fn new(pool: &'a PgPool, keyring: &'a Keyring) -> Self {
        Self { pool, keyring }
    }

    /// Registers a webhook and returns it with its signing secret (`whsec_...`), which is
    /// shown only this once. It receives events from now on, not the tenant's history.
    pub async fn create(
        &self,
        tenant_id: TenantId,
        url: &str,
        event_types: &[String],
    ) -> Result<(Webhook, SecretString), StoreError> {
        if event_types.is_empty() {
            return Err(StoreError::InvalidInput(
                "a webhook needs at least one event type".to_owned(),
            ));
        }
        let id = Uuid::now_v7();
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret = SecretString::from(format!(
            "whsec_{}",
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
        ));
        let sealed = self.keyring.seal(
            secret.expose_secret(),
            SealedField::new(TABLE, id, "secret"),
        )?;
        let row = sqlx::query!(
            "INSERT INTO webhooks (id, tenant_id, url, event_types, secret, last_event_id)
             VALUES ($1, $2, $3, $4, $5,
                     (SELECT COALESCE(max(id), 0) FROM delivery_events WHERE tenant_id = $2))
             RETURNING created_at",
            id,
            tenant_id.into_uuid(),
            url,
            event_types,
            sealed
        )
        .fetch_one(self.pool)
        .await
        .map_err(|e| match violated_constraint(&e) {
            Some("webhooks_tenant_id_fkey") => StoreError::UnknownTenant(tenant_id),
            _ => e.into(),
        })?;
        Ok((
            Webhook {
                id,
                tenant_id,
                url: url.to_owned(),
                event_types: event_types.to_vec(),
                active: true,
                created_at: row.created_at,
            },
            secret,
        ))
    }

    /// A tenant's webhooks, oldest first.
    pub async fn list(&self, tenant_id: TenantId) -> Result<Vec<Webhook>, StoreError> {
        let rows = sqlx::query!(
            "SELECT id, tenant_id, url, event_types, active, created_at
             FROM webhooks WHERE tenant_id = $1 ORDER BY id",
            tenant_id.into_uuid()
        )
        .fetch_all(self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| Webhook {
                id: r.id,
                tenant_id: r.tenant_id.into(),
                url: r.url,
                event_types: r.event_types,
                active: r.active,
                created_at: r.created_at,
            })
            .collect())
    }

    /// A tenant's webhook.
    pub async fn get(&self, tenant_id: TenantId, id: Uuid) -> Result<Option<Webhook>, StoreError> {
        Ok(self.list(tenant_id).await?.into_iter().find(|w| w.id == id))
    }

    /// Deletes a tenant's webhook and its delivery log; false when there is none.
    pub async fn delete(&self, tenant_id: TenantId, id: Uuid) -> Result<bool, StoreError> {
        let result = sqlx::query!(
            "DELETE FROM webhooks WHERE id = $1 AND tenant_id = $2",
            id,
            tenant_id.into_uuid()
        )
        .execute(self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// A webhook's deliveries, newest first, older than the cursor `before` when given.
    pub async fn deliveries(
        &self,
        webhook_id: Uuid,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let rows = sqlx::query_as!(
            WebhookDelivery,
            "SELECT id, webhook_id, event_id, event_type, payload, state, attempts,
                    next_attempt_at, last_status, last_error, created_at, finished_at
             FROM webhook_deliveries
             WHERE webhook_id = $1 AND ($2::bigint IS NULL OR id < $2)
             ORDER BY id DESC LIMIT $3",
            webhook_id,
            before,
            limit
        )
        .fetch_all(self.pool)
        .await?;
        Ok(rows)
    }

    /// Queues the events that arrived since each active webhook's cursor, at most `limit`
    /// per webhook; returns how many deliveries were queued.
    pub async fn fan_out(&self, limit: i64) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let webhooks = sqlx::query!(
            "SELECT id, tenant_id, event_types, last_event_id FROM webhooks
             WHERE active ORDER BY id FOR UPDATE SKIP LOCKED"
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut queued = 0;
        for w in webhooks {
            let row = sqlx::query!(
                r#"WITH events AS (
                       SELECT e.id, e.delivery_id, e.from_state, e.to_state, e.detail, e.at,
                              d.post_id, d.connection_id, d.platform
                       FROM delivery_events e JOIN deliveries d ON d.id = e.delivery_id
                       WHERE e.tenant_id = $2 AND e.id > $3
                         AND e.at < now() - $5::bigint * interval '1 millisecond'
                       ORDER BY e.id LIMIT $4
                   ),
                   inserted AS (
                       INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, payload)
                       SELECT $1, id, 'delivery.' || to_state,
                              jsonb_build_object(
                                  'id', id, 'type', 'delivery.' || to_state, 'at', at,
                                  'data', jsonb_build_object(
                                      'delivery_id', delivery_id, 'post_id', post_id,
                                      'connection_id', connection_id, 'platform', platform,
                                      'from', from_state, 'to', to_state, 'detail', detail))
                       FROM events
                       WHERE '*' = ANY($6) OR ('delivery.' || to_state) = ANY($6)
                       ON CONFLICT ON CONSTRAINT webhook_deliveries_once DO NOTHING
                       RETURNING 1
                   )
                   SELECT (SELECT max(id) FROM events) AS last_id,
                          (SELECT count(*) FROM inserted) AS "queued!""#,
                w.id,
                w.tenant_id,
                w.last_event_id,
                limit,
                millis(SETTLE),
                &w.event_types
            )
            .fetch_one(&mut *tx)
            .await?;
            if let Some(last_id) = row.last_id {
                sqlx::query!(
                    "UPDATE webhooks SET last_event_id = $2 WHERE id = $1",
                    w.id,
                    last_id
                )
                .execute(&mut *tx)
                .await?;
            }
            queued += u64::try_from(row.queued).unwrap_or(0);
        }
        tx.commit().await?;
        Ok(queued)
    }

    /// Claims up to `limit` due attempts for `lease` (longer than the request's time limit).
    pub async fn claim_due(
        &self,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<DueWebhookDelivery>, StoreError> {
        let rows = sqlx::query!(
            r#"WITH due AS (
                   SELECT id FROM webhook_deliveries
                   WHERE state = 'pending' AND next_attempt_at <= now()
                   ORDER BY next_attempt_at LIMIT $1
                   FOR UPDATE SKIP LOCKED
               ),
               claimed AS (
                   UPDATE webhook_deliveries d
                   SET attempts = d.attempts + 1,
                       next_attempt_at = now() + $2::bigint * interval '1 millisecond'
                   FROM due WHERE d.id = due.id
                   RETURNING d.id, d.webhook_id, d.payload, d.attempts
               )
               SELECT c.id AS "id!", c.webhook_id AS "webhook_id!", c.payload AS "payload!",
                      c.attempts AS "attempts!", w.url, w.secret
               FROM claimed c JOIN webhooks w ON w.id = c.webhook_id
               ORDER BY c.id"#,
            limit,
            millis(lease)
        )
        .fetch_all(self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let secret = self
                    .keyring
                    .open(&r.secret, SealedField::new(TABLE, r.webhook_id, "secret"))?;
                Ok(DueWebhookDelivery {
                    id: r.id,
                    webhook_id: r.webhook_id,
                    url: r.url,
                    secret,
                    payload: r.payload,
                    attempts: r.attempts,
                })
            })
            .collect()
    }

    /// Records an attempt's result.
    pub async fn record_attempt(
        &self,
        id: i64,
        status: Option<u16>,
        error: Option<&str>,
        outcome: AttemptOutcome,
    ) -> Result<(), StoreError> {
        let (state, next) = match outcome {
            AttemptOutcome::Delivered => ("delivered", None),
            AttemptOutcome::Failed => ("failed", None),
            AttemptOutcome::RetryAt(at) => ("pending", Some(at)),
        };
        sqlx::query!(
            "UPDATE webhook_deliveries SET
                 state = $2,
                 next_attempt_at = COALESCE($3, next_attempt_at),
                 last_status = $4,
                 last_error = $5,
                 finished_at = CASE WHEN $2 = 'pending' THEN NULL ELSE now() END
             WHERE id = $1",
            id,
            state,
            next,
            status.and_then(|s| i16::try_from(s).ok()),
            error
        )
        .execute(self.pool)
        .await?;
        Ok(())
    }
}
