//! Tenants: the producer organisations that own keys, connections and posts.

use chrono::{DateTime, Utc};
use herald_domain::{Scope, TenantId, UnknownOutcomePolicy};
use sqlx::PgPool;

use crate::api_keys::{NewApiKey, insert_key};
use crate::error::{StoreError, violated_constraint};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy)]
pub struct Tenants<'a> {
    pool: &'a PgPool,
}

impl<'a> Tenants<'a> {
    pub(crate) fn new(pool: &'a PgPool) -> Self {
        Self { pool }
    }

    /// Creates a tenant. Names are unique (and trimmed: surrounding spaces are refused).
    pub async fn create(&self, name: &str) -> Result<Tenant, StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert_tenant(&mut conn, name).await
    }

    /// Creates a tenant and its first API key in one transaction: either both exist
    /// afterwards or neither does.
    pub async fn create_with_key(
        &self,
        name: &str,
        scopes: &[Scope],
        key_name: Option<&str>,
    ) -> Result<(Tenant, NewApiKey), StoreError> {
        let mut tx = self.pool.begin().await?;
        let tenant = insert_tenant(&mut tx, name).await?;
        let key = insert_key(&mut tx, tenant.id, scopes, key_name).await?;
        tx.commit().await?;
        Ok((tenant, key))
    }

    pub async fn get(&self, id: TenantId) -> Result<Option<Tenant>, StoreError> {
        let row = sqlx::query!(
            "SELECT id, name, created_at FROM tenants WHERE id = $1",
            id.into_uuid()
        )
        .fetch_optional(self.pool)
        .await?;
        Ok(row.map(|r| Tenant {
            id: r.id.into(),
            name: r.name,
            created_at: r.created_at,
        }))
    }

    pub async fn by_name(&self, name: &str) -> Result<Option<Tenant>, StoreError> {
        let row = sqlx::query!(
            "SELECT id, name, created_at FROM tenants WHERE name = $1",
            name
        )
        .fetch_optional(self.pool)
        .await?;
        Ok(row.map(|r| Tenant {
            id: r.id.into(),
            name: r.name,
            created_at: r.created_at,
        }))
    }

    pub async fn list(&self) -> Result<Vec<Tenant>, StoreError> {
        let rows = sqlx::query!("SELECT id, name, created_at FROM tenants ORDER BY name")
            .fetch_all(self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| Tenant {
                id: r.id.into(),
                name: r.name,
                created_at: r.created_at,
            })
            .collect())
    }

    /// The tenant's policy for publishes whose outcome cannot be looked up; `None`: the
    /// deployment's default (also for a name this version does not know, written by a newer
    /// one).
    pub async fn unknown_outcome_policy(
        &self,
        id: TenantId,
    ) -> Result<Option<UnknownOutcomePolicy>, StoreError> {
        let stored = sqlx::query_scalar!(
            "SELECT unknown_outcome FROM tenants WHERE id = $1",
            id.into_uuid()
        )
        .fetch_optional(self.pool)
        .await?
        .flatten();
        Ok(stored.and_then(|name| name.parse().ok()))
    }

    /// Sets (or with `None` clears) the tenant's unknown-outcome policy. Returns whether the
    /// tenant exists.
    pub async fn set_unknown_outcome_policy(
        &self,
        id: TenantId,
        policy: Option<UnknownOutcomePolicy>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query!(
            "UPDATE tenants SET unknown_outcome = $2 WHERE id = $1",
            id.into_uuid(),
            policy.map(|p| p.as_str())
        )
        .execute(self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }
}

async fn insert_tenant(conn: &mut sqlx::PgConnection, name: &str) -> Result<Tenant, StoreError> {
    if name.trim() != name || name.is_empty() {
        return Err(StoreError::InvalidInput(
            "a tenant name must be non-empty and have no surrounding spaces".to_owned(),
        ));
    }
    let id = TenantId::new();
    let row = sqlx::query!(
        "INSERT INTO tenants (id, name) VALUES ($1, $2) RETURNING created_at",
        id.into_uuid(),
        name
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| match violated_constraint(&e) {
        Some("tenants_name_key") => StoreError::DuplicateTenant {
            name: name.to_owned(),
        },
        _ => e.into(),
    })?;
    Ok(Tenant {
        id,
        name: name.to_owned(),
        created_at: row.created_at,
    })
}
