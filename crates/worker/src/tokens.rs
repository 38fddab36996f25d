//! Fresh tokens, refreshed once however many workers notice.
//!
//! X refresh tokens are single-use: if two workers refreshed the same connection at once, the
//! second would present a token the first had just spent, and X would log the account out.
//! So a refresh is **single-flight across the fleet**: lock the connection row
//! (`lock_for_refresh`), re-read it under the lock, refresh only if it still needs it, store
//! the new pair and commit. A worker that waited on the lock re-reads the pair the first one
//! stored and goes on without calling the platform.
//!
//! Two reasons to refresh: the token expires within the margin (Meta and Threads must be
//! refreshed *before* they expire), or the platform just answered 401 to a token that looked
//! valid (only where [`refresh_may_help`](herald_platforms::refresh_may_help)): then the
//! refresh is needed only while the stored token is still the one that was refused.
//!
//! A refresh the platform refuses for good marks the connection `needs_reconnect` and fails
//! the delivery with that reason; a transient failure (5xx, timeout) leaves the connection as
//! it is and the delivery retries.

use chrono::{TimeDelta, Utc};
use herald_domain::{Code, ConnectionStatus, ErrorClass, Platform, PlatformFailure};
use herald_platforms::Account;
use herald_store::{ConnectionWithTokens, StoreError, Tokens};
use secrecy::{ExposeSecret, SecretString};

use crate::context::Ctx;
use crate::metrics::Refreshed;

/// Why a refresh is wanted.
pub(crate) enum Need {
    /// The stored token expires within the margin.
    Expiring,
    /// The platform refused this token.
    Rejected(SecretString),
}

/// The connection with a token that is good for at least the margin (refreshing it first if
/// needed).
pub(crate) async fn ensure_fresh(
    ctx: &Ctx,
    conn: ConnectionWithTokens,
) -> Result<ConnectionWithTokens, PlatformFailure> {
    if conn.connection.platform == Platform::Telegram || !expiring(ctx, &conn) {
        return Ok(conn);
    }
    refresh(ctx, &conn, Need::Expiring).await
}

fn expiring(ctx: &Ctx, conn: &ConnectionWithTokens) -> bool {
    let margin = TimeDelta::from_std(ctx.settings.token_refresh_margin).unwrap_or_default();
    conn.connection
        .token_expires_at
        .is_some_and(|at| at - Utc::now() <= margin)
}

/// Refreshes `conn` unless, under the row lock, another worker already did.
pub(crate) async fn refresh(
    ctx: &Ctx,
    conn: &ConnectionWithTokens,
    need: Need,
) -> Result<ConnectionWithTokens, PlatformFailure> {
    let platform = conn.connection.platform;
    let connections = ctx.store.connections();
    let lock = connections
        .lock_for_refresh(conn.connection.id)
        .await
        .map_err(|e| store_failure(platform, &e))?
        .ok_or_else(|| {
            PlatformFailure::new(
                ErrorClass::Permanent,
                platform,
                "the connection was deleted",
            )
            .with_herald_code(Code::ConnectionGone)
        })?;
    let current = lock.connection().clone();
    let still_needed = match &need {
        Need::Expiring => expiring(ctx, &current),
        Need::Rejected(refused) => current.access_token.expose_secret() == refused.expose_secret(),
    };
    if !still_needed {
        lock.release()
            .await
            .map_err(|e| store_failure(platform, &e))?;
        ctx.metrics.refresh(platform, Refreshed::AlreadyRefreshed);
        return Ok(current);
    }
    if current.connection.status != ConnectionStatus::Active {
        lock.release()
            .await
            .map_err(|e| store_failure(platform, &e))?;
        return Err(reconnect(
            platform,
            "the connection needs to be reconnected",
        ));
    }
    let account = account_of(&current);
    match ctx
        .platforms
        .refresh(&account, current.refresh_token.as_ref())
        .await
    {
        Ok(set) => {
            let stored = lock
                .store_tokens(&Tokens {
                    access_token: set.access_token,
                    refresh_token: set.refresh_token,
                    expires_at: set.expires_at,
                })
                .await
                .map_err(|e| store_failure(platform, &e))?;
            ctx.metrics.refresh(platform, Refreshed::Refreshed);
            tracing::info!(connection_id = %current.connection.id, "token refreshed");
            Ok(stored)
        }
        Err(failure)
            if matches!(
                failure.class,
                ErrorClass::Retryable | ErrorClass::RateLimited | ErrorClass::UnknownOutcome
            ) =>
        {
            lock.release()
                .await
                .map_err(|e| store_failure(platform, &e))?;
            ctx.metrics.refresh(platform, Refreshed::RetryLater);
            Err(failure)
        }
        Err(failure) => {
            let reason = failure.to_string();
            lock.mark_needs_reconnect(&reason)
                .await
                .map_err(|e| store_failure(platform, &e))?;
            ctx.metrics.refresh(platform, Refreshed::Failed);
            tracing::warn!(connection_id = %current.connection.id, %failure, "refresh refused; the connection needs a reconnect");
            Err(PlatformFailure {
                class: ErrorClass::ReconnectRequired,
                hint: failure.hint.clone().or_else(|| {
                    Some("Ask the account owner to connect the account again".to_owned())
                }),
                ..failure
            })
        }
    }
}

/// How the platforms crate sees a stored connection (see `Account` for which id is which).
pub(crate) fn account_of(conn: &ConnectionWithTokens) -> Account {
    let c = &conn.connection;
    Account {
        platform: c.platform,
        app_type: c.app_type,
        target: c.post_target_type,
        account_id: c.account_id.clone(),
        page_id: c.selected_page_id.clone(),
        username: c.account_handle.clone(),
        access_token: conn.access_token.clone(),
    }
}

pub(crate) fn reconnect(platform: Platform, message: &str) -> PlatformFailure {
    PlatformFailure::new(ErrorClass::ReconnectRequired, platform, message)
        .with_herald_code(Code::NeedsReconnect)
        .with_hint("Ask the account owner to connect the account again")
}

/// A store error during the pipeline: the database blinked; try the delivery again.
pub(crate) fn store_failure(platform: Platform, err: &StoreError) -> PlatformFailure {
    PlatformFailure::new(
        ErrorClass::Retryable,
        platform,
        format!("Herald's database failed: {err}"),
    )
    .with_herald_code(Code::Store)
}
