//! Connected accounts and their tokens.
//!
//! Invariants kept here:
//!
//! - Tokens are sealed before they are written and opened after they are read
//!   ([`crate::sealing`]); nothing outside this module sees a sealed string.
//! - One connection per (tenant, end user, platform, LinkedIn app): connecting again
//!   replaces the tokens of the existing row and keeps its id, so deliveries, windows and
//!   the sealed values' associated data stay attached to it.
//! - A stored refresh token is never overwritten by a missing or empty one: several
//!   platforms answer a refresh without a new refresh token, and the old one stays valid.
//! - Refresh is single-flight: [`Connections::lock_for_refresh`] takes the row lock, re-reads
//!   the tokens under it and keeps the lock until the new pair is stored. X refresh tokens
//!   are single-use, so two concurrent refreshes would log the account out. The lock is
//!   `FOR NO KEY UPDATE`, which does not block new deliveries' foreign-key checks.

use chrono::{DateTime, Utc};
use herald_domain::{AppType, ConnectionId, ConnectionStatus, Platform, PostTargetType, TenantId};
use secrecy::{ExposeSecret, SecretString};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::error::{StoreError, parse_stored, violated_constraint};

mod discussion;
mod target;
use crate::sealing::{Keyring, SealedField};
pub use discussion::DiscussionGroup;
pub use target::ConnectionTarget;

const TABLE: &str = "connections";

/// An access token, the refresh token that came with it (if any) and when the access token
/// expires (if it does).
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A connection to create, or to replace when its (tenant, end user, platform, app) exists.
#[derive(Debug, Clone)]
pub struct NewConnection {
    pub tenant_id: TenantId,
    pub external_user_id: Option<String>,
    pub platform: Platform,
    /// LinkedIn only, and required there.
    pub app_type: Option<AppType>,
    pub post_target_type: PostTargetType,
    pub selected_page_id: Option<String>,
    pub account_id: String,
    pub account_name: Option<String>,
    pub account_handle: Option<String>,
    pub scopes: Vec<String>,
    pub rate_tier: Option<String>,
    pub tokens: Tokens,
}

/// A connection without its tokens: what lists and API answers show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub id: ConnectionId,
    pub tenant_id: TenantId,
    pub external_user_id: Option<String>,
    pub platform: Platform,
    pub app_type: Option<AppType>,
    pub post_target_type: PostTargetType,
    pub selected_page_id: Option<String>,
    pub account_id: String,
    pub account_name: Option<String>,
    pub account_handle: Option<String>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub has_refresh_token: bool,
    pub scopes: Vec<String>,
    pub rate_tier: Option<String>,
    pub status: ConnectionStatus,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A connection with its tokens opened, for the worker that publishes with them.
#[derive(Debug, Clone)]
pub struct ConnectionWithTokens {
    pub connection: Connection,
    /// The token Herald posts with: a Facebook Page's own token once a Page is chosen, else
    /// the account owner's.
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    /// The account owner's token when posting uses another one (a Facebook Page's); `None`
    /// when `access_token` is the owner's.
    pub user_access_token: Option<SecretString>,
}

impl ConnectionWithTokens {
    /// The account owner's own token: what lists the pages an account can post to (Graph's
    /// `/me/accounts` refuses a Page token).
    pub fn owner_token(&self) -> &SecretString {
        self.user_access_token
            .as_ref()
            .unwrap_or(&self.access_token)
    }
}

/// What [`Connections::connect`] did.
#[derive(Debug, Clone)]
pub enum Connected {
    /// A new connection.
    Created(Connection),
    /// The existing connection, same platform account: its tokens renewed, the rest (page
    /// choice, post target) kept.
    Renewed(Connection),
    /// The existing connection is bound to another platform account: nothing changed.
    OtherAccount(Connection),
}

struct ConnectionRow {
    id: Uuid,
    tenant_id: Uuid,
    external_user_id: Option<String>,
    platform: String,
    app_type: Option<String>,
    post_target_type: String,
    selected_page_id: Option<String>,
    account_id: String,
    account_name: Option<String>,
    account_handle: Option<String>,
    access_token: String,
    refresh_token: Option<String>,
    user_access_token: Option<String>,
    token_expires_at: Option<DateTime<Utc>>,
    scopes: Vec<String>,
    rate_tier: Option<String>,
    status: String,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl ConnectionRow {
    fn into_connection(self) -> Result<Connection, StoreError> {
        Ok(Connection {
            id: self.id.into(),
            tenant_id: self.tenant_id.into(),
            external_user_id: self.external_user_id,
            platform: parse_stored("platform", &self.platform)?,
            app_type: self
                .app_type
                .as_deref()
                .map(|a| parse_stored("app type", a))
                .transpose()?,
            post_target_type: parse_stored("post target type", &self.post_target_type)?,
            selected_page_id: self.selected_page_id,
            account_id: self.account_id,
            account_name: self.account_name,
            account_handle: self.account_handle,
            token_expires_at: self.token_expires_at,
            has_refresh_token: self.refresh_token.is_some(),
            scopes: self.scopes,
            rate_tier: self.rate_tier,
            status: parse_stored("connection status", &self.status)?,
            last_error: self.last_error,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }

    fn open(self, keyring: &Keyring) -> Result<ConnectionWithTokens, StoreError> {
        let access_token = keyring.open(&self.access_token, place(self.id, "access_token"))?;
        let refresh_token = self
            .refresh_token
            .as_deref()
            .map(|sealed| keyring.open(sealed, place(self.id, "refresh_token")))
            .transpose()?;
        let user_access_token = self
            .user_access_token
            .as_deref()
            .map(|sealed| keyring.open(sealed, place(self.id, "user_access_token")))
            .transpose()?;
        Ok(ConnectionWithTokens {
            connection: self.into_connection()?,
            access_token,
            refresh_token,
            user_access_token,
        })
    }
}

fn place(id: impl Into<Uuid>, field: &'static str) -> SealedField {
    SealedField::new(TABLE, id, field)
}

/// The sealed pair for row `id`; an empty refresh token counts as none.
fn seal_tokens(
    keyring: &Keyring,
    id: Uuid,
    tokens: &Tokens,
) -> Result<(String, Option<String>), StoreError> {
    let access = keyring.seal(
        tokens.access_token.expose_secret(),
        place(id, "access_token"),
    )?;
    let refresh = tokens
        .refresh_token
        .as_ref()
        .map(ExposeSecret::expose_secret)
        .filter(|t| !t.is_empty())
        .map(|t| keyring.seal(t, place(id, "refresh_token")))
        .transpose()?;
    Ok((access, refresh))
}

#[derive(Debug, Clone, Copy)]
pub struct Connections<'a> {
    pool: &'a PgPool,
    keyring: &'a Keyring,
}

impl<'a> Connections<'a> {
    pub(crate) fn new(pool: &'a PgPool, keyring: &'a Keyring) -> Self {
        Self { pool, keyring }
    }

    /// Creates the connection, or replaces the account, tokens and scopes of the existing one
    /// with the same (tenant, end user, platform, app) and makes it active again. Returns the
    /// connection and whether it is new.
    pub async fn upsert(&self, new: &NewConnection) -> Result<(Connection, bool), StoreError> {
        if (new.platform == Platform::Linkedin) != new.app_type.is_some() {
            return Err(StoreError::InvalidInput(
                "a LinkedIn connection needs an app type, and only LinkedIn has one".to_owned(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        // Two rounds at most: if a concurrent connect inserts the row between our look-up and
        // our insert, the insert does nothing and the second look-up finds (and locks) it.
        for _ in 0..2 {
            if let Some(id) = lock_existing(&mut tx, new).await? {
                let row = replace(&mut tx, self.keyring, id, new).await?;
                tx.commit().await?;
                return Ok((row.into_connection()?, false));
            }
            if let Some(row) = insert(&mut tx, self.keyring, new).await? {
                tx.commit().await?;
                return Ok((row.into_connection()?, true));
            }
        }
        Err(StoreError::InvalidInput(
            "the connection was created and removed concurrently; try again".to_owned(),
        ))
    }

    /// Connects an account the owner just authorized (the OAuth callback). Unlike
    /// [`Connections::upsert`], an existing connection of the same (tenant, end user,
    /// platform, app) is never moved to another platform account: its scheduled posts were
    /// meant for the account it has. With the same `account_id` only the tokens, scopes and
    /// status are renewed (the chosen page stays); with another, nothing changes and the
    /// existing connection comes back as [`Connected::OtherAccount`].
    ///
    /// Where a page's own token posts (a Facebook Page), the new token is the owner's and
    /// renews `user_access_token`; the Page token stays until the page is chosen again.
    pub async fn connect(&self, new: &NewConnection) -> Result<Connected, StoreError> {
        if (new.platform == Platform::Linkedin) != new.app_type.is_some() {
            return Err(StoreError::InvalidInput(
                "a LinkedIn connection needs an app type, and only LinkedIn has one".to_owned(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        for _ in 0..2 {
            if let Some(id) = lock_existing(&mut tx, new).await? {
                let current = get_row_in(&mut tx, id)
                    .await?
                    .ok_or(StoreError::UnknownConnection(id.into()))?;
                if current.account_id != new.account_id {
                    return Ok(Connected::OtherAccount(current.into_connection()?));
                }
                let row = renew(&mut tx, self.keyring, &current, new).await?;
                tx.commit().await?;
                return Ok(Connected::Renewed(row.into_connection()?));
            }
            if let Some(row) = insert(&mut tx, self.keyring, new).await? {
                tx.commit().await?;
                return Ok(Connected::Created(row.into_connection()?));
            }
        }
        Err(StoreError::InvalidInput(
            "the connection was created and removed concurrently; try again".to_owned(),
        ))
    }

    /// A connection by id, whichever tenant it belongs to: for the worker, which acts for
    /// every tenant. A tenant's request reads with [`Connections::get_for_tenant`].
    pub async fn get(&self, id: ConnectionId) -> Result<Option<Connection>, StoreError> {
        self.get_row(id)
            .await?
            .map(ConnectionRow::into_connection)
            .transpose()
    }

    /// A connection of `tenant_id`: another tenant's connection is not found.
    pub async fn get_for_tenant(
        &self,
        tenant_id: TenantId,
        id: ConnectionId,
    ) -> Result<Option<Connection>, StoreError> {
        sqlx::query_as!(
            ConnectionRow,
            "SELECT id, tenant_id, external_user_id, platform, app_type, post_target_type,
                    selected_page_id, account_id, account_name, account_handle, access_token,
                    refresh_token, user_access_token, token_expires_at, scopes, rate_tier, status, last_error,
                    created_at, updated_at
             FROM connections WHERE id = $1 AND tenant_id = $2",
            id.into_uuid(),
            tenant_id.into_uuid()
        )
        .fetch_optional(self.pool)
        .await?
        .map(ConnectionRow::into_connection)
        .transpose()
    }

    /// The connections of `tenant_id` among `ids`, in one query: another tenant's and
    /// unknown ids are left out.
    pub async fn get_many_for_tenant(
        &self,
        tenant_id: TenantId,
        ids: &[ConnectionId],
    ) -> Result<Vec<Connection>, StoreError> {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.into_uuid()).collect();
        sqlx::query_as!(
            ConnectionRow,
            "SELECT id, tenant_id, external_user_id, platform, app_type, post_target_type,
                    selected_page_id, account_id, account_name, account_handle, access_token,
                    refresh_token, user_access_token, token_expires_at, scopes, rate_tier, status, last_error,
                    created_at, updated_at
             FROM connections WHERE id = ANY($1) AND tenant_id = $2",
            &ids,
            tenant_id.into_uuid()
        )
        .fetch_all(self.pool)
        .await?
        .into_iter()
        .map(ConnectionRow::into_connection)
        .collect()
    }

    /// The connection with its tokens opened.
    pub async fn get_with_tokens(
        &self,
        id: ConnectionId,
    ) -> Result<Option<ConnectionWithTokens>, StoreError> {
        self.get_row(id)
            .await?
            .map(|row| row.open(self.keyring))
            .transpose()
    }

    async fn get_row(&self, id: ConnectionId) -> Result<Option<ConnectionRow>, StoreError> {
        Ok(sqlx::query_as!(
            ConnectionRow,
            "SELECT id, tenant_id, external_user_id, platform, app_type, post_target_type,
                    selected_page_id, account_id, account_name, account_handle, access_token,
                    refresh_token, user_access_token, token_expires_at, scopes, rate_tier, status, last_error,
                    created_at, updated_at
             FROM connections WHERE id = $1",
            id.into_uuid()
        )
        .fetch_optional(self.pool)
        .await?)
    }

    /// A tenant's connections, oldest first; only one end user's when `external_user_id` is
    /// given.
    pub async fn list(
        &self,
        tenant_id: TenantId,
        external_user_id: Option<&str>,
    ) -> Result<Vec<Connection>, StoreError> {
        let rows = sqlx::query_as!(
            ConnectionRow,
            "SELECT id, tenant_id, external_user_id, platform, app_type, post_target_type,
                    selected_page_id, account_id, account_name, account_handle, access_token,
                    refresh_token, user_access_token, token_expires_at, scopes, rate_tier, status, last_error,
                    created_at, updated_at
             FROM connections
             WHERE tenant_id = $1 AND ($2::text IS NULL OR external_user_id = $2)
             ORDER BY id",
            tenant_id.into_uuid(),
            external_user_id
        )
        .fetch_all(self.pool)
        .await?;
        rows.into_iter()
            .map(ConnectionRow::into_connection)
            .collect()
    }

    /// Stores a refreshed token pair. A missing or empty refresh token keeps the stored one.
    /// Prefer [`RefreshLock::store_tokens`], which does this under the refresh lock.
    pub async fn update_tokens(
        &self,
        id: ConnectionId,
        tokens: &Tokens,
    ) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(update_tokens(&mut conn, self.keyring, id, tokens)
            .await?
            .is_some())
    }

    /// Chooses the page an account posts to (a Facebook Page, a LinkedIn organization), with
    /// the page's own tokens when the platform issues them. The page's token then posts, and
    /// the owner's token is kept apart (`user_access_token`) to list the pages again later.
    pub async fn select_page(
        &self,
        id: ConnectionId,
        page_id: &str,
        page_tokens: Option<&Tokens>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let Some(current) = get_row_in(&mut tx, id.into_uuid()).await? else {
            return Ok(false);
        };
        if let Some(tokens) = page_tokens {
            let uuid = id.into_uuid();
            // The first page chosen: `access_token` is still the owner's. Open it and seal it
            // again for its new column (the associated data names the column).
            let user = match &current.user_access_token {
                Some(sealed) => sealed.clone(),
                None => {
                    let owner = self
                        .keyring
                        .open(&current.access_token, place(uuid, "access_token"))?;
                    self.keyring
                        .seal(owner.expose_secret(), place(uuid, "user_access_token"))?
                }
            };
            let (access, _) = seal_tokens(self.keyring, uuid, tokens)?;
            sqlx::query!(
                "UPDATE connections
                 SET user_access_token = $2, access_token = $3, token_expires_at = $4
                 WHERE id = $1",
                uuid,
                user,
                access,
                tokens.expires_at
            )
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query!(
            "UPDATE connections
             SET post_target_type = 'page', selected_page_id = $2, updated_at = now()
             WHERE id = $1",
            id.into_uuid(),
            page_id
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Marks an active connection as needing its owner to connect again, with the reason.
    /// Returns false when it was not active (already marked, or disabled), so the caller
    /// emits its event once.
    pub async fn mark_needs_reconnect(
        &self,
        id: ConnectionId,
        error: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        mark_needs_reconnect(&mut conn, id, error).await
    }

    /// Sets the status. Back to `active` clears the last error.
    pub async fn set_status(
        &self,
        id: ConnectionId,
        status: ConnectionStatus,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query!(
            "UPDATE connections
             SET status = $2,
                 last_error = CASE WHEN $2 = 'active' THEN NULL ELSE last_error END,
                 updated_at = now()
             WHERE id = $1",
            id.into_uuid(),
            status.as_str()
        )
        .execute(self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Deletes a connection of `tenant_id`. Refused while deliveries point at it: history
    /// stays intact, so disable it instead.
    pub async fn delete(&self, tenant_id: TenantId, id: ConnectionId) -> Result<bool, StoreError> {
        let result = sqlx::query!(
            "DELETE FROM connections WHERE id = $1 AND tenant_id = $2",
            id.into_uuid(),
            tenant_id.into_uuid()
        )
        .execute(self.pool)
        .await
        .map_err(|e| match violated_constraint(&e) {
            Some("deliveries_connection_fk") => StoreError::ConnectionInUse(id),
            _ => e.into(),
        })?;
        Ok(result.rows_affected() == 1)
    }

    /// Locks the connection for a token refresh and re-reads it under the lock. Whoever
    /// holds the lock decides whether a refresh is still needed (another worker may have
    /// just done it), stores the new pair and commits. Other callers wait here meanwhile.
    /// `None` when the connection does not exist.
    ///
    /// Keep the lock only for the refresh itself: drop or finish it before anything else
    /// that touches the same connection row.
    pub async fn lock_for_refresh(
        &self,
        id: ConnectionId,
    ) -> Result<Option<RefreshLock<'a>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query_as!(
            ConnectionRow,
            "SELECT id, tenant_id, external_user_id, platform, app_type, post_target_type,
                    selected_page_id, account_id, account_name, account_handle, access_token,
                    refresh_token, user_access_token, token_expires_at, scopes, rate_tier, status, last_error,
                    created_at, updated_at
             FROM connections WHERE id = $1
             FOR NO KEY UPDATE",
            id.into_uuid()
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(RefreshLock {
            connection: row.open(self.keyring)?,
            tx,
            keyring: self.keyring,
        }))
    }
}

/// A connection row locked for a token refresh. Dropping it releases the lock and changes
/// nothing.
#[derive(Debug)]
pub struct RefreshLock<'a> {
    tx: Transaction<'static, Postgres>,
    keyring: &'a Keyring,
    connection: ConnectionWithTokens,
}

impl RefreshLock<'_> {
    /// The connection as read under the lock.
    pub fn connection(&self) -> &ConnectionWithTokens {
        &self.connection
    }

    /// Stores the refreshed pair (keeping the stored refresh token if the new one is missing
    /// or empty), commits and returns the connection as stored.
    pub async fn store_tokens(
        mut self,
        tokens: &Tokens,
    ) -> Result<ConnectionWithTokens, StoreError> {
        let id = self.connection.connection.id;
        let row = update_tokens(&mut self.tx, self.keyring, id, tokens)
            .await?
            .ok_or(StoreError::UnknownConnection(id))?;
        self.tx.commit().await?;
        row.open(self.keyring)
    }

    /// The refresh failed for good: mark the connection `needs_reconnect` and release it.
    pub async fn mark_needs_reconnect(mut self, error: &str) -> Result<bool, StoreError> {
        let id = self.connection.connection.id;
        let changed = mark_needs_reconnect(&mut self.tx, id, error).await?;
        self.tx.commit().await?;
        Ok(changed)
    }

    /// No refresh was needed after all: release the lock.
    pub async fn release(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// The row `id` inside a transaction that already locked it (or is about to write it).
async fn get_row_in(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<ConnectionRow>, StoreError> {
    Ok(sqlx::query_as!(
        ConnectionRow,
        "SELECT id, tenant_id, external_user_id, platform, app_type, post_target_type,
                selected_page_id, account_id, account_name, account_handle, access_token,
                refresh_token, user_access_token, token_expires_at, scopes, rate_tier, status,
                last_error, created_at, updated_at
         FROM connections WHERE id = $1
         FOR NO KEY UPDATE",
        id
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// The same account authorized again: fresh tokens and scopes, active again. A connection
/// that posts with a page's token gets the owner's new token beside it; the page token stays.
async fn renew(
    conn: &mut PgConnection,
    keyring: &Keyring,
    current: &ConnectionRow,
    new: &NewConnection,
) -> Result<ConnectionRow, StoreError> {
    let (access, refresh) = seal_tokens(keyring, current.id, &new.tokens)?;
    let posts_with_page_token = current.user_access_token.is_some();
    let user = posts_with_page_token
        .then(|| {
            keyring.seal(
                new.tokens.access_token.expose_secret(),
                place(current.id, "user_access_token"),
            )
        })
        .transpose()?;
    Ok(sqlx::query_as!(
        ConnectionRow,
        "UPDATE connections SET
             access_token = CASE WHEN $2::text IS NULL THEN $3 ELSE access_token END,
             user_access_token = COALESCE($2, user_access_token),
             refresh_token = COALESCE($4, refresh_token),
             token_expires_at = CASE WHEN $2::text IS NULL THEN $5 ELSE token_expires_at END,
             scopes = $6, status = 'active', last_error = NULL, updated_at = now()
         WHERE id = $1
         RETURNING id, tenant_id, external_user_id, platform, app_type, post_target_type,
                   selected_page_id, account_id, account_name, account_handle, access_token,
                   refresh_token, user_access_token, token_expires_at, scopes, rate_tier,
                   status, last_error, created_at, updated_at",
        current.id,
        user,
        access,
        refresh,
        new.tokens.expires_at,
        &new.scopes
    )
    .fetch_one(&mut *conn)
    .await?)
}

async fn lock_existing(
    conn: &mut PgConnection,
    new: &NewConnection,
) -> Result<Option<Uuid>, StoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT id FROM connections
         WHERE tenant_id = $1 AND external_user_id IS NOT DISTINCT FROM $2
           AND platform = $3 AND app_type IS NOT DISTINCT FROM $4
         FOR NO KEY UPDATE",
        new.tenant_id.into_uuid(),
        new.external_user_id.as_deref(),
        new.platform.as_str(),
        new.app_type.map(AppType::as_str)
    )
    .fetch_optional(&mut *conn)
    .await?)
}

async fn insert(
    conn: &mut PgConnection,
    keyring: &Keyring,
    new: &NewConnection,
) -> Result<Option<ConnectionRow>, StoreError> {
    let id = ConnectionId::new().into_uuid();
    let (access, refresh) = seal_tokens(keyring, id, &new.tokens)?;
    sqlx::query_as!(
        ConnectionRow,
        "INSERT INTO connections
             (id, tenant_id, external_user_id, platform, app_type, post_target_type,
              selected_page_id, account_id, account_name, account_handle, access_token,
              refresh_token, token_expires_at, scopes, rate_tier)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT ON CONSTRAINT connections_one_per_user_platform_app DO NOTHING
         RETURNING id, tenant_id, external_user_id, platform, app_type, post_target_type,
                   selected_page_id, account_id, account_name, account_handle, access_token,
                   refresh_token, user_access_token, token_expires_at, scopes, rate_tier, status, last_error,
                   created_at, updated_at",
        id,
        new.tenant_id.into_uuid(),
        new.external_user_id.as_deref(),
        new.platform.as_str(),
        new.app_type.map(AppType::as_str),
        new.post_target_type.as_str(),
        new.selected_page_id.as_deref(),
        new.account_id,
        new.account_name.as_deref(),
        new.account_handle.as_deref(),
        access,
        refresh,
        new.tokens.expires_at,
        &new.scopes,
        new.rate_tier.as_deref()
    )
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| match violated_constraint(&e) {
        Some("connections_tenant_id_fkey") => StoreError::UnknownTenant(new.tenant_id),
        _ => e.into(),
    })
}

/// Reconnect: new account details and tokens on the existing row. The stored refresh token
/// survives a grant without one only when the account is the same; a page's token is gone
/// with the page choice, so the owner's token is `access_token` again.
async fn replace(
    conn: &mut PgConnection,
    keyring: &Keyring,
    id: Uuid,
    new: &NewConnection,
) -> Result<ConnectionRow, StoreError> {
    let (access, refresh) = seal_tokens(keyring, id, &new.tokens)?;
    Ok(sqlx::query_as!(
        ConnectionRow,
        "UPDATE connections SET
             post_target_type = $2, selected_page_id = $3, account_id = $4,
             account_name = $5, account_handle = $6, access_token = $7,
             refresh_token = COALESCE($8, CASE WHEN account_id = $4 THEN refresh_token END),
             user_access_token = NULL, token_expires_at = $9, scopes = $10, rate_tier = $11,
             status = 'active', last_error = NULL, updated_at = now()
         WHERE id = $1
         RETURNING id, tenant_id, external_user_id, platform, app_type, post_target_type,
                   selected_page_id, account_id, account_name, account_handle, access_token,
                   refresh_token, user_access_token, token_expires_at, scopes, rate_tier, status, last_error,
                   created_at, updated_at",
        id,
        new.post_target_type.as_str(),
        new.selected_page_id.as_deref(),
        new.account_id,
        new.account_name.as_deref(),
        new.account_handle.as_deref(),
        access,
        refresh,
        new.tokens.expires_at,
        &new.scopes,
        new.rate_tier.as_deref()
    )
    .fetch_one(&mut *conn)
    .await?)
}

async fn update_tokens(
    conn: &mut PgConnection,
    keyring: &Keyring,
    id: ConnectionId,
    tokens: &Tokens,
) -> Result<Option<ConnectionRow>, StoreError> {
    let (access, refresh) = seal_tokens(keyring, id.into_uuid(), tokens)?;
    Ok(sqlx::query_as!(
        ConnectionRow,
        "UPDATE connections SET
             access_token = $2, refresh_token = COALESCE($3, refresh_token),
             token_expires_at = $4, updated_at = now()
         WHERE id = $1
         RETURNING id, tenant_id, external_user_id, platform, app_type, post_target_type,
                   selected_page_id, account_id, account_name, account_handle, access_token,
                   refresh_token, user_access_token, token_expires_at, scopes, rate_tier, status, last_error,
                   created_at, updated_at",
        id.into_uuid(),
        access,
        refresh,
        tokens.expires_at
    )
    .fetch_optional(&mut *conn)
    .await?)
}

async fn mark_needs_reconnect(
    conn: &mut PgConnection,
    id: ConnectionId,
    error: &str,
) -> Result<bool, StoreError> {
    // The `connection.needs_reconnect` webhook event is written by the same statement, so it
    // is sent exactly when the status changes.
    let marked = sqlx::query_scalar!(
        r#"WITH marked AS (
               UPDATE connections
               SET status = 'needs_reconnect', last_error = $2, updated_at = now()
               WHERE id = $1 AND status = 'active'
               RETURNING id, tenant_id, platform, account_handle
           ),
           event AS (
               INSERT INTO webhook_events (tenant_id, type, data)
               SELECT m.tenant_id, 'connection.needs_reconnect',
                      jsonb_build_object('connection_id', m.id, 'platform', m.platform,
                                         'account_handle', m.account_handle, 'reason', $2)
               FROM marked m
               WHERE EXISTS (SELECT 1 FROM webhooks w WHERE w.tenant_id = m.tenant_id AND w.active)
           )
           SELECT count(*) AS "marked!" FROM marked"#,
        id.into_uuid(),
        error
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(marked == 1)
}
