//! What a connection posts to, as the platform named it when it was chosen
//! (`connection_targets`, migration 0045): the name of a LinkedIn organization or a Facebook
//! Page (the connection row keeps only their id), or a Telegram chat's type. For people
//! watching connections; publishing never reads it.

use std::collections::HashMap;

use herald_domain::{ConnectionId, TenantId};

use super::Connections;
use crate::error::StoreError;

/// The recorded target of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionTarget {
    /// `facebook_page`, `linkedin_organization`, `instagram_account`, `profile`, or a
    /// Telegram chat type (`channel`, `supergroup`, `group`).
    pub kind: String,
    pub name: Option<String>,
}

impl Connections<'_> {
    /// Records what the connection posts to, replacing what was recorded before.
    pub async fn set_target(
        &self,
        id: ConnectionId,
        kind: &str,
        name: Option<&str>,
    ) -> Result<(), StoreError> {
        let name = name.map(|n| n.chars().take(500).collect::<String>());
        sqlx::query!(
            "INSERT INTO connection_targets (connection_id, kind, name) VALUES ($1, $2, $3)
             ON CONFLICT (connection_id)
             DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, recorded_at = now()",
            id.into_uuid(),
            kind,
            name
        )
        .execute(self.pool)
        .await?;
        Ok(())
    }

    /// The recorded targets of a tenant's connections (those that have one).
    pub async fn targets(
        &self,
        tenant_id: TenantId,
    ) -> Result<HashMap<ConnectionId, ConnectionTarget>, StoreError> {
        let rows = sqlx::query!(
            "SELECT t.connection_id, t.kind, t.name FROM connection_targets t
             JOIN connections c ON c.id = t.connection_id
             WHERE c.tenant_id = $1",
            tenant_id.into_uuid()
        )
        .fetch_all(self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    ConnectionId::from_uuid(r.connection_id),
                    ConnectionTarget {
                        kind: r.kind,
                        name: r.name,
                    },
                )
            })
            .collect())
    }
}
