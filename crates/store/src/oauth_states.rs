//! Pending OAuth authorizations: the server-side half of the `state` parameter.
//!
//! Invariants: a state is single-use and short-lived. [`OAuthStates::consume`] is one guarded
//! UPDATE (unconsumed and unexpired), so a replayed callback finds nothing. Only the SHA-256
//! of the state value is stored, and the PKCE verifier is sealed like a token.

use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_domain::{AppType, OAuthStateId, Platform, PostTargetType, TenantId};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::error::{StoreError, parse_stored, violated_constraint};
use crate::millis;
use crate::sealing::{Keyring, SealedField};

const TABLE: &str = "oauth_states";

/// An authorization about to start.
#[derive(Debug, Clone)]
pub struct NewOAuthState {
    pub tenant_id: TenantId,
    pub platform: Platform,
    /// LinkedIn only, and required there.
    pub app_type: Option<AppType>,
    pub post_target_type: PostTargetType,
    pub external_user_id: Option<String>,
    /// Where to send the user's browser when the callback is done.
    pub return_to: Option<String>,
    pub pkce_verifier: Option<SecretString>,
    /// How long the user has to approve (10 minutes by default).
    pub ttl: Duration,
}

/// A consumed authorization, as the callback needs it.
#[derive(Debug, Clone)]
pub struct OAuthState {
    pub id: OAuthStateId,
    pub tenant_id: TenantId,
    pub platform: Platform,
    pub app_type: Option<AppType>,
    pub post_target_type: PostTargetType,
    pub external_user_id: Option<String>,
    pub return_to: Option<String>,
    pub pkce_verifier: Option<SecretString>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy)]
pub struct OAuthStates<'a> {
    pool: &'a PgPool,
    keyring: &'a Keyring,
}

impl<'a> OAuthStates<'a> {
    pub(crate) fn new(pool: &'a PgPool, keyring: &'a Keyring) -> Self {
        Self { pool, keyring }
    }

    /// Stores a pending authorization and returns its id and the `state` value to put in
    /// the authorize URL (random, 256 bits; only its hash is kept).
    pub async fn create(
        &self,
        new: &NewOAuthState,
    ) -> Result<(OAuthStateId, SecretString), StoreError> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let state = SecretString::from(base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            bytes,
        ));
        let id = self.create_with_state(new, &state).await?;
        Ok((id, state))
    }

    /// As [`OAuthStates::create`], with a `state` value the caller made (at least 256 random
    /// bits): for flows where the value must exist before the PKCE verifier that is stored
    /// with it (the authorize URL carries both).
    pub async fn create_with_state(
        &self,
        new: &NewOAuthState,
        state: &SecretString,
    ) -> Result<OAuthStateId, StoreError> {
        if state.expose_secret().len() < 43 {
            return Err(StoreError::InvalidInput(
                "an OAuth state needs at least 256 bits of randomness".to_owned(),
            ));
        }
        let id = OAuthStateId::new();
        let hash = Sha256::digest(state.expose_secret().as_bytes()).to_vec();
        let verifier = new
            .pkce_verifier
            .as_ref()
            .map(|v| {
                self.keyring.seal(
                    v.expose_secret(),
                    SealedField::new(TABLE, id, "pkce_verifier"),
                )
            })
            .transpose()?;
        sqlx::query!(
            "INSERT INTO oauth_states (id, state_hash, tenant_id, platform, app_type,
                                       post_target_type, external_user_id, return_to,
                                       pkce_verifier, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
                     now() + $10::bigint * interval '1 millisecond')",
            id.into_uuid(),
            hash,
            new.tenant_id.into_uuid(),
            new.platform.as_str(),
            new.app_type.map(AppType::as_str),
            new.post_target_type.as_str(),
            new.external_user_id.as_deref(),
            new.return_to.as_deref(),
            verifier,
            millis(new.ttl)
        )
        .execute(self.pool)
        .await
        .map_err(|e| match violated_constraint(&e) {
            Some("oauth_states_tenant_id_fkey") => StoreError::UnknownTenant(new.tenant_id),
            _ => e.into(),
        })?;
        Ok(id)
    }

    /// Consumes the authorization `state` names. `None` when it is unknown, expired or
    /// already used.
    pub async fn consume(&self, state: &str) -> Result<Option<OAuthState>, StoreError> {
        let hash = Sha256::digest(state.as_bytes()).to_vec();
        let Some(row) = sqlx::query!(
            "UPDATE oauth_states SET consumed_at = now()
             WHERE state_hash = $1 AND consumed_at IS NULL AND expires_at > now()
             RETURNING id, tenant_id, platform, app_type, post_target_type, external_user_id,
                       return_to, pkce_verifier, created_at, expires_at",
            hash
        )
        .fetch_optional(self.pool)
        .await?
        else {
            return Ok(None);
        };
        let pkce_verifier = row
            .pkce_verifier
            .as_deref()
            .map(|sealed| {
                self.keyring
                    .open(sealed, SealedField::new(TABLE, row.id, "pkce_verifier"))
            })
            .transpose()?;
        Ok(Some(OAuthState {
            id: row.id.into(),
            tenant_id: row.tenant_id.into(),
            platform: parse_stored("platform", &row.platform)?,
            app_type: row
                .app_type
                .as_deref()
                .map(|a| parse_stored("app type", a))
                .transpose()?,
            post_target_type: parse_stored("post target type", &row.post_target_type)?,
            external_user_id: row.external_user_id,
            return_to: row.return_to,
            pkce_verifier,
            created_at: row.created_at,
            expires_at: row.expires_at,
        }))
    }

    /// Deletes authorizations that expired more than a day ago; returns how many.
    pub async fn prune(&self) -> Result<u64, StoreError> {
        let result =
            sqlx::query!("DELETE FROM oauth_states WHERE expires_at < now() - interval '1 day'")
                .execute(self.pool)
                .await?;
        Ok(result.rows_affected())
    }
}
