//! Webhooks: URLs of a tenant that receive its events, signed and retried.
//!
//! Events are a delivery's state changes (`delivery_events`) and the rows of
//! `webhook_events`: `post.completed` ([`Webhooks::note_completed_posts`]),
//! `connection.needs_reconnect` (written by the statement that marks the connection) and
//! `connection.expiring` ([`Webhooks::note_expiring_connections`]). Both tables draw ids
//! from one sequence, so one cursor per webhook walks them in order.
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
//! - **Once per fact.** `post.completed` and `connection.expiring` carry a `dedupe_key`
//!   (`UNIQUE`): however many workers look, each post completes once and each token's
//!   expiry is announced once.
//! - The signing secret is sealed like a token and shown once, when the webhook is created
//!   or its secret rotated (see [`crate::webhook_signing`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_domain::TenantId;
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{StoreError, violated_constraint};
use crate::millis;
use crate::sealing::{Keyring, SealedField};
use crate::webhook_signing::{Signing, new_secret};

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
    /// Which signature headers its requests carry.
    pub signing: Signing,
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
    pub signing: Signing,
    /// The event's id: the message id of every attempt.
    pub event_id: i64,
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
        let secret = new_secret();
        let sealed = self.keyring.seal(
            secret.expose_secret(),
            SealedField::new(TABLE, id, "secret"),
        )?;
        let row = sqlx::query!(
            "INSERT INTO webhooks (id, tenant_id, url, event_types, secret, signing, last_event_id)
             VALUES ($1, $2, $3, $4, $5, 'standard',
                     GREATEST((SELECT COALESCE(max(id), 0) FROM delivery_events WHERE tenant_id = $2),
                              (SELECT COALESCE(max(id), 0) FROM webhook_events WHERE tenant_id = $2)))
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
                signing: Signing::Standard,
                created_at: row.created_at,
            },
            secret,
        ))
    }

    /// A tenant's webhooks, oldest first.
    pub async fn list(&self, tenant_id: TenantId) -> Result<Vec<Webhook>, StoreError> {
        let rows = sqlx::query!(
            "SELECT id, tenant_id, url, event_types, active, signing, created_at
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
                signing: Signing::parse(&r.signing),
                created_at: r.created_at,
            })
            .collect())
    }

    /// A tenant's webhook.
    pub async fn get(&self, tenant_id: TenantId, id: Uuid) -> Result<Option<Webhook>, StoreError> {
        Ok(self.list(tenant_id).await?.into_iter().find(|w| w.id == id))
    }

    /// Replaces a webhook's secret with a new one, returned this once; from now on its
    /// requests carry only the Standard Webhooks signature, made with the new secret (attempts
    /// still pending included). `None` when the tenant has no such webhook.
    pub async fn rotate_secret(
        &self,
        tenant_id: TenantId,
        id: Uuid,
    ) -> Result<Option<SecretString>, StoreError> {
        let secret = new_secret();
        let sealed = self.keyring.seal(
            secret.expose_secret(),
            SealedField::new(TABLE, id, "secret"),
        )?;
        let result = sqlx::query!(
            "UPDATE webhooks SET secret = $3, signing = 'standard'
             WHERE id = $1 AND tenant_id = $2",
            id,
            tenant_id.into_uuid(),
            sealed
        )
        .execute(self.pool)
        .await?;
        Ok((result.rows_affected() == 1).then_some(secret))
    }

    /// The webhook's signing secret and scheme, for a test request.
    pub async fn signing_secret(
        &self,
        tenant_id: TenantId,
        id: Uuid,
    ) -> Result<Option<(SecretString, Signing)>, StoreError> {
        let row = sqlx::query!(
            "SELECT secret, signing FROM webhooks WHERE id = $1 AND tenant_id = $2",
            id,
            tenant_id.into_uuid()
        )
        .fetch_optional(self.pool)
        .await?;
        row.map(|r| {
            let secret = self
                .keyring
                .open(&r.secret, SealedField::new(TABLE, id, "secret"))?;
            Ok((secret, Signing::parse(&r.signing)))
        })
        .transpose()
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
                       (SELECT e.id, 'delivery.' || e.to_state AS kind, e.at,
                               jsonb_build_object(
                                   'delivery_id', e.delivery_id, 'post_id', d.post_id,
                                   'connection_id', d.connection_id, 'platform', d.platform,
                                   'from', e.from_state, 'to', e.to_state,
                                   'detail', e.detail) AS data
                        FROM delivery_events e JOIN deliveries d ON d.id = e.delivery_id
                        WHERE e.tenant_id = $2 AND e.id > $3
                          AND e.at < now() - $5::bigint * interval '1 millisecond'
                        ORDER BY e.id LIMIT $4)
                       UNION ALL
                       (SELECT id, type, at, data FROM webhook_events
                        WHERE tenant_id = $2 AND id > $3
                          AND at < now() - $5::bigint * interval '1 millisecond'
                        ORDER BY id LIMIT $4)
                       ORDER BY id LIMIT $4
                   ),
                   inserted AS (
                       INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, payload)
                       SELECT $1, id, kind,
                              jsonb_build_object('id', id, 'type', kind, 'timestamp', at,
                                                 'at', at, 'data', data)
                       FROM events
                       WHERE '*' = ANY($6) OR kind = ANY($6)
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

    /// Writes a `post.completed` event for each post whose deliveries are all final, looking
    /// at the delivery events since the last look (at most `limit`, older than [`SETTLE`] so
    /// none commits behind the cursor); returns how many posts completed. Only tenants with
    /// an active webhook get them. A post completes once: a delivery an operator sends back
    /// to the queue and that ends again does not announce its post a second time.
    pub async fn note_completed_posts(&self, limit: i64) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        // One worker at a time; the others skip this round.
        let Some(cursor) = sqlx::query_scalar!(
            "SELECT last_event_id FROM webhook_event_cursors WHERE name = 'post.completed'
             FOR UPDATE SKIP LOCKED"
        )
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(0);
        };
        let row = sqlx::query!(
            r#"WITH events AS (
                   SELECT e.id, e.to_state, e.delivery_id FROM delivery_events e
                   WHERE e.id > $1 AND e.at < now() - $3::bigint * interval '1 millisecond'
                   ORDER BY e.id LIMIT $2
               ),
               posts AS (
                   SELECT DISTINCT d.post_id, d.tenant_id
                   FROM events e JOIN deliveries d ON d.id = e.delivery_id
                   WHERE e.to_state IN ('published', 'failed', 'dead', 'unknown', 'cancelled')
                     AND EXISTS (SELECT 1 FROM webhooks w WHERE w.tenant_id = d.tenant_id AND w.active)
               ),
               inserted AS (
                   INSERT INTO webhook_events (tenant_id, type, dedupe_key, data)
                   SELECT p.tenant_id, 'post.completed', 'post.completed:' || p.post_id,
                          jsonb_build_object('post_id', p.post_id, 'deliveries', (
                              SELECT jsonb_agg(jsonb_build_object(
                                         'id', d.id, 'connection_id', d.connection_id,
                                         'platform', d.platform, 'state', d.state,
                                         'url', d.public_url, 'error_code', d.error_code)
                                     ORDER BY d.id)
                              FROM deliveries d WHERE d.post_id = p.post_id))
                   FROM posts p
                   WHERE NOT EXISTS (
                       SELECT 1 FROM deliveries d
                       WHERE d.post_id = p.post_id
                         AND d.state NOT IN ('published', 'failed', 'dead', 'unknown', 'cancelled'))
                   ON CONFLICT (dedupe_key) DO NOTHING
                   RETURNING 1
               )
               SELECT (SELECT max(id) FROM events) AS last_id,
                      (SELECT count(*) FROM inserted) AS "completed!""#,
            cursor,
            limit,
            millis(SETTLE)
        )
        .fetch_one(&mut *tx)
        .await?;
        if let Some(last_id) = row.last_id {
            sqlx::query!(
                "UPDATE webhook_event_cursors SET last_event_id = $1 WHERE name = 'post.completed'",
                last_id
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(u64::try_from(row.completed).unwrap_or(0))
    }

    /// Writes a `connection.expiring` event for each active connection whose token expires
    /// within `notice` and cannot be refreshed (X and LinkedIn without a refresh token; Meta
    /// and Threads tokens are extended by Herald itself), once per connection and expiry;
    /// returns how many. Only tenants with an active webhook get them.
    pub async fn note_expiring_connections(&self, notice: Duration) -> Result<u64, StoreError> {
        let result = sqlx::query!(
            "INSERT INTO webhook_events (tenant_id, type, dedupe_key, data)
             SELECT c.tenant_id, 'connection.expiring',
                    'connection.expiring:' || c.id || ':' || extract(epoch FROM c.token_expires_at),
                    jsonb_build_object('connection_id', c.id, 'platform', c.platform,
                                       'account_handle', c.account_handle,
                                       'expires_at', c.token_expires_at)
             FROM connections c
             WHERE c.status = 'active' AND c.refresh_token IS NULL
               AND c.platform IN ('twitter', 'linkedin')
               AND c.token_expires_at > now()
               AND c.token_expires_at <= now() + $1::bigint * interval '1 millisecond'
               AND EXISTS (SELECT 1 FROM webhooks w WHERE w.tenant_id = c.tenant_id AND w.active)
             ON CONFLICT (dedupe_key) DO NOTHING",
            millis(notice)
        )
        .execute(self.pool)
        .await?;
        Ok(result.rows_affected())
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
                   RETURNING d.id, d.webhook_id, d.event_id, d.payload, d.attempts
               )
               SELECT c.id AS "id!", c.webhook_id AS "webhook_id!", c.event_id AS "event_id!",
                      c.payload AS "payload!", c.attempts AS "attempts!", w.url, w.secret,
                      w.signing
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
                    signing: Signing::parse(&r.signing),
                    event_id: r.event_id,
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
