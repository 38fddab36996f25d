//! API keys: `hrld_{prefix}_{secret}`.
//!
//! The invariant: the database can leak without leaking a usable key. A key is 12 random
//! characters of public prefix (to find the row) and 256 random bits of secret; only the
//! prefix and the SHA-256 of the whole key are stored. A slow password hash buys nothing for
//! 256 bits of randomness, so SHA-256 it is, compared in constant time.

use chrono::{DateTime, Utc};
use herald_domain::{ApiKeyId, Scope, TenantId};
use rand::{Rng, RngCore};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use subtle::ConstantTimeEq;

use crate::error::{StoreError, parse_stored, violated_constraint};

const KEY_PREFIX: &str = "hrld_";
const PREFIX_LEN: usize = 12;
const SECRET_LEN: usize = 43;
const PREFIX_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A key just created. The full key is shown once; afterwards only its prefix is known.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub prefix: String,
    pub scopes: Vec<Scope>,
    /// The whole key, `hrld_{prefix}_{secret}`: give it to the producer, then forget it.
    pub key: SecretString,
}

/// Who a request is, once its key checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedKey {
    pub key_id: ApiKeyId,
    pub tenant_id: TenantId,
    pub scopes: Vec<Scope>,
}

/// A key as listed to its tenant's admins: everything but the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy)]
pub struct ApiKeys<'a> {
    pool: &'a PgPool,
}

impl<'a> ApiKeys<'a> {
    pub(crate) fn new(pool: &'a PgPool) -> Self {
        Self { pool }
    }

    /// Creates a key for `tenant_id` with the given scopes.
    pub async fn create(
        &self,
        tenant_id: TenantId,
        scopes: &[Scope],
        name: Option<&str>,
    ) -> Result<NewApiKey, StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert_key(&mut conn, tenant_id, scopes, name).await
    }

    /// The tenant and scopes of `key`, or `None` when the key is malformed, unknown, wrong or
    /// revoked (the caller answers all four the same way). Records the use at most once a
    /// minute per key, so authentication is not a write per request.
    pub async fn authenticate(&self, key: &str) -> Result<Option<AuthenticatedKey>, StoreError> {
        let Some(prefix) = parse_prefix(key) else {
            return Ok(None);
        };
        let Some(row) = sqlx::query!(
            r#"SELECT id, tenant_id, hash, scopes,
                      (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
                          AS "stale_use!"
               FROM api_keys
               WHERE prefix = $1 AND revoked_at IS NULL"#,
            prefix
        )
        .fetch_optional(self.pool)
        .await?
        else {
            return Ok(None);
        };
        let presented = Sha256::digest(key.as_bytes());
        if !bool::from(presented[..].ct_eq(row.hash.as_slice())) {
            return Ok(None);
        }
        if row.stale_use {
            sqlx::query!(
                "UPDATE api_keys SET last_used_at = now()
                 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
                row.id
            )
            .execute(self.pool)
            .await?;
        }
        Ok(Some(AuthenticatedKey {
            key_id: row.id.into(),
            tenant_id: row.tenant_id.into(),
            scopes: parse_scopes(&row.scopes)?,
        }))
    }

    /// Revokes a key of `tenant_id`. Returns false when there is no such live key (unknown,
    /// another tenant's, or already revoked).
    pub async fn revoke(&self, tenant_id: TenantId, key_id: ApiKeyId) -> Result<bool, StoreError> {
        let result = sqlx::query!(
            "UPDATE api_keys SET revoked_at = now()
             WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL",
            key_id.into_uuid(),
            tenant_id.into_uuid()
        )
        .execute(self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Revokes a key whichever tenant holds it: the operator's `herald keys revoke`, which
    /// knows the key's id only. Returns the tenant whose key it was, or `None` when there is
    /// no such live key (unknown, or already revoked).
    pub async fn revoke_by_id(&self, key_id: ApiKeyId) -> Result<Option<TenantId>, StoreError> {
        let tenant = sqlx::query_scalar!(
            "UPDATE api_keys SET revoked_at = now()
             WHERE id = $1 AND revoked_at IS NULL
             RETURNING tenant_id",
            key_id.into_uuid()
        )
        .fetch_optional(self.pool)
        .await?;
        Ok(tenant.map(Into::into))
    }

    /// Whether `key_id` is a key of `tenant_id` that has not been revoked (a session signed
    /// in with a key ends when the key is revoked).
    pub async fn is_live(&self, tenant_id: TenantId, key_id: ApiKeyId) -> Result<bool, StoreError> {
        let live = sqlx::query_scalar!(
            r#"SELECT revoked_at IS NULL AS "live!" FROM api_keys
               WHERE id = $1 AND tenant_id = $2"#,
            key_id.into_uuid(),
            tenant_id.into_uuid()
        )
        .fetch_optional(self.pool)
        .await?;
        Ok(live == Some(true))
    }

    /// The keys of a tenant, newest first, revoked ones included.
    pub async fn list(&self, tenant_id: TenantId) -> Result<Vec<ApiKeyInfo>, StoreError> {
        let rows = sqlx::query!(
            "SELECT id, tenant_id, prefix, scopes, name, created_at, last_used_at, revoked_at
             FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC",
            tenant_id.into_uuid()
        )
        .fetch_all(self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(ApiKeyInfo {
                    id: r.id.into(),
                    tenant_id: r.tenant_id.into(),
                    prefix: r.prefix,
                    scopes: parse_scopes(&r.scopes)?,
                    name: r.name,
                    created_at: r.created_at,
                    last_used_at: r.last_used_at,
                    revoked_at: r.revoked_at,
                })
            })
            .collect()
    }
}

pub(crate) async fn insert_key(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    scopes: &[Scope],
    name: Option<&str>,
) -> Result<NewApiKey, StoreError> {
    let mut unique: Vec<Scope> = Vec::new();
    for scope in scopes {
        if !unique.contains(scope) {
            unique.push(*scope);
        }
    }
    if unique.is_empty() {
        return Err(StoreError::InvalidInput(
            "an API key needs at least one scope".to_owned(),
        ));
    }
    let name = name.map(key_name).transpose()?;
    let (prefix, key) = generate_key();
    let hash = Sha256::digest(key.expose_secret().as_bytes()).to_vec();
    let id = ApiKeyId::new();
    let scope_names: Vec<String> = unique.iter().map(|s| s.as_str().to_owned()).collect();
    sqlx::query!(
        "INSERT INTO api_keys (id, tenant_id, prefix, hash, scopes, name)
         VALUES ($1, $2, $3, $4, $5, $6)",
        id.into_uuid(),
        tenant_id.into_uuid(),
        prefix,
        hash,
        &scope_names,
        name.as_deref()
    )
    .execute(&mut *conn)
    .await
    .map_err(|e| match violated_constraint(&e) {
        Some("api_keys_tenant_id_fkey") => StoreError::UnknownTenant(tenant_id),
        _ => e.into(),
    })?;
    Ok(NewApiKey {
        id,
        tenant_id,
        prefix,
        scopes: unique,
        key,
    })
}

/// The most characters a key's name may have.
pub const KEY_NAME_MAX: usize = 200;

/// A key's name as stored: `raw` trimmed, 1 to [`KEY_NAME_MAX`] characters. The name is what
/// the dashboard shows of the signed-in key and what its actions are attributed to.
pub fn key_name(raw: &str) -> Result<String, StoreError> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > KEY_NAME_MAX {
        return Err(StoreError::InvalidInput(format!(
            "name: a key's name must be 1 to {KEY_NAME_MAX} characters once trimmed (got \
             {chars}); give a short name such as `ops-alice`"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::InvalidInput(
            "name: a key's name must not contain control characters (newlines, tabs)".to_owned(),
        ));
    }
    Ok(name.to_owned())
}

/// A fresh `(prefix, hrld_{prefix}_{secret})`.
fn generate_key() -> (String, SecretString) {
    let mut rng = rand::rng();
    let prefix: String = (0..PREFIX_LEN)
        .map(|_| char::from(PREFIX_ALPHABET[rng.random_range(0..PREFIX_ALPHABET.len())]))
        .collect();
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut secret);
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, secret);
    secrecy::zeroize::Zeroize::zeroize(&mut secret);
    let key = SecretString::from(format!("{KEY_PREFIX}{prefix}_{encoded}"));
    (prefix, key)
}

/// The prefix of a well-formed key. The secret may itself contain `_`, so the key is split
/// by position, not by separator.
fn parse_prefix(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    if rest.len() != PREFIX_LEN + 1 + SECRET_LEN || !rest.is_char_boundary(PREFIX_LEN) {
        return None;
    }
    let (prefix, tail) = rest.split_at(PREFIX_LEN);
    let valid_prefix = prefix.bytes().all(|b| PREFIX_ALPHABET.contains(&b));
    let valid_secret = tail.strip_prefix('_').is_some_and(|secret| {
        secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    (valid_prefix && valid_secret).then_some(prefix)
}

fn parse_scopes(names: &[String]) -> Result<Vec<Scope>, StoreError> {
    names.iter().map(|n| parse_stored("scope", n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_are_trimmed_and_between_1_and_200_characters() {
        assert_eq!(key_name("  ops-alice ").unwrap(), "ops-alice");
        assert_eq!(key_name(&"é".repeat(200)).unwrap().chars().count(), 200);
        for bad in ["", "   ", &"x".repeat(201), "two\nlines"] {
            let error = key_name(bad).unwrap_err().to_string();
            assert!(error.contains("name:"), "{error}");
        }
    }

    #[test]
    fn generated_keys_have_the_documented_shape_and_parse_back() {
        let (prefix, key) = generate_key();
        let key = key.expose_secret();
        assert_eq!(
            key.len(),
            KEY_PREFIX.len() + PREFIX_LEN + 1 + SECRET_LEN,
            "{key}"
        );
        assert_eq!(parse_prefix(key), Some(prefix.as_str()));
    }

    #[test]
    fn malformed_keys_have_no_prefix() {
        assert_eq!(parse_prefix("hrld_short_x"), None);
        assert_eq!(parse_prefix(""), None);
        let (_, key) = generate_key();
        let key = key.expose_secret();
        assert_eq!(parse_prefix(&key.replacen("hrld_", "nope_", 1)), None);
        assert_eq!(parse_prefix(&format!("{key}x")), None);
        assert_eq!(parse_prefix(&key.to_uppercase()), None);
    }
}
