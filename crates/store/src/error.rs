//! One error type for the store. Each variant names what went wrong in words a caller can
//! map to an answer (409, 404, a CLI message); none carries a token, a key or a secret.

use herald_domain::{ConnectionId, DeliveryId, TenantId};

use crate::sealing::SealError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Database(#[source] sqlx::Error),

    /// Postgres cannot be reached right now: no connection within the pool's acquire
    /// timeout, a connection lost mid-query, the server shutting down or refusing
    /// connections. Nothing was changed (or, for a lost connection, the statement's
    /// transaction was rolled back); trying again later is the answer (503, a paused worker).
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),

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

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if is_unavailable(&error) {
            Self::Unavailable(error)
        } else {
            Self::Database(error)
        }
    }
}

/// Whether an error says "Postgres is not there right now" rather than "this statement is
/// wrong": the pool found no connection in time, the socket failed, the conversation broke
/// off (a proxy or load balancer in front of Postgres accepts a connection and closes it at
/// once when it has no server to give it: sqlx reports that as a protocol error), or the
/// server said it is shutting down, starting up or out of connections.
pub(crate) fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(e) => e.code().is_some_and(|code| unavailable_sqlstate(&code)),
        _ => false,
    }
}

/// SQLSTATEs of a server that cannot serve: class 08 (connection exception), 57P01-57P03
/// (admin shutdown, crash shutdown, cannot connect now) and 53300 (too many connections).
fn unavailable_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

impl StoreError {
    /// Whether Postgres was unreachable (see [`StoreError::Unavailable`]): worth waiting
    /// for, not worth reporting as a bug.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// The same failure, for another waiter: a group commit that fails fails each of its
    /// writes with a copy (see [`crate::group`]). It keeps whether Postgres was unavailable
    /// and what the error said.
    pub fn copy_for_waiter(&self) -> Self {
        let said = |e: &sqlx::Error| e.to_string();
        match self {
            Self::Unavailable(e) => {
                Self::Unavailable(sqlx::Error::Io(std::io::Error::other(said(e))))
            }
            Self::Database(e) => Self::Database(sqlx::Error::Protocol(said(e))),
            Self::InvalidInput(message) => Self::InvalidInput(message.clone()),
            other => Self::Database(sqlx::Error::Protocol(other.to_string())),
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_database_is_unavailable_and_a_bad_statement_is_not() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(StoreError::from(sqlx::Error::Io(refused)).is_unavailable());
        assert!(StoreError::from(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(StoreError::from(sqlx::Error::PoolClosed).is_unavailable());
        let closed = sqlx::Error::Protocol("unexpected response from SSLRequest: 0x00".into());
        assert!(StoreError::from(closed).is_unavailable());
        assert!(!StoreError::from(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!StoreError::from(sqlx::Error::ColumnNotFound("x".into())).is_unavailable());
    }

    #[test]
    fn connection_exceptions_and_shutdowns_are_unavailable_sqlstates() {
        for code in [
            "08000", "08006", "08001", "57P01", "57P02", "57P03", "53300",
        ] {
            assert!(unavailable_sqlstate(code), "{code}");
        }
        for code in ["23505", "40001", "42P01", "57014", "53100"] {
            assert!(!unavailable_sqlstate(code), "{code}");
        }
    }
}
