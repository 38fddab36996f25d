//! One error type for the store. Each variant names what went wrong in words a caller can
//! map to an answer (409, 404, a CLI message); none carries a token, a key or a secret.

use herald_domain::{ConnectionId, DeliveryId, TenantId};

use crate::sealing::SealError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Database(#[from] sqlx::Error),

    #[error("could not apply migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    #[error("invalid database URL: {0}")]
    InvalidDatabaseUrl(String),

    #[error("a tenant named `{name}` already exists")]
    DuplicateTenant { name: String },

    #[error("tenant {0} does not exist")]
    UnknownTenant(TenantId),

    #[error("connection {0} does not exist")]
    UnknownConnection(ConnectionId),

    #[error("connection {connection_id} is not a connection of tenant {tenant_id}")]
    ForeignConnection {
        tenant_id: TenantId,
        connection_id: ConnectionId,
    },

    #[error("connection {0} still has deliveries: disable it instead of deleting it")]
    ConnectionInUse(ConnectionId),

    #[error("idempotency key `{key}` was already used with a different request body")]
    IdempotencyConflict { key: String },

    /// The caller asked for something the store refuses before touching the database (an
    /// empty scope list, two transitions of one delivery in a batch).
    #[error("invalid input: {0}")]
    InvalidInput(String),

    #[error(transparent)]
    Sealing(#[from] SealError),

    /// A row holds a value outside the domain vocabulary: the schema's CHECKs should make
    /// this impossible, so it means the schema and the code disagree.
    #[error("stored {what} is invalid: {detail}")]
    Corrupt { what: &'static str, detail: String },

    #[error("delivery {0} does not exist")]
    UnknownDelivery(DeliveryId),
}

impl StoreError {
    pub(crate) fn corrupt(what: &'static str, detail: &dyn std::fmt::Display) -> Self {
        Self::Corrupt {
            what,
            detail: detail.to_string(),
        }
    }
}

/// The constraint a database error tripped, if it was a constraint violation.
pub(crate) fn violated_constraint(error: &sqlx::Error) -> Option<&str> {
    match error {
        sqlx::Error::Database(e) => e.constraint(),
        _ => None,
    }
}

/// Parses a stored closed-set value (`'running'`) into its domain type.
pub(crate) fn parse_stored<T>(what: &'static str, value: &str) -> Result<T, StoreError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e| StoreError::corrupt(what, &e))
}
