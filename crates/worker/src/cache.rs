//! Connections read once for many deliveries.
//!
//! Every delivery needs its connection with its tokens opened; a burst of deliveries on a
//! few connections would read (and unseal) the same rows hundreds of times a second. So a
//! read is kept for [`TTL`] and shared. The bound is short and the cache only speeds up the
//! ordinary path: a refresh reads the row again under its lock (`crate::tokens`), a token
//! the platform refuses is refreshed from the stored row, and this process forgets a
//! connection it refreshed or marked `needs_reconnect`. What another worker changes is seen
//! here within [`TTL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use herald_domain::ConnectionId;
use herald_store::{ConnectionWithTokens, Store, StoreError};

/// How long a read connection is used before it is read again.
pub(crate) const TTL: Duration = Duration::from_secs(1);
/// Above this many entries, expired ones are dropped as new ones come in.
const PRUNE_ABOVE: usize = 4_096;

#[derive(Debug, Default)]
pub(crate) struct Connections {
    read: Mutex<HashMap<ConnectionId, (Instant, ConnectionWithTokens)>>,
}

impl Connections {
    /// The connection with its tokens, read at most [`TTL`] ago. `None`: it was deleted.
    pub(crate) async fn get(
        &self,
        store: &Store,
        id: ConnectionId,
    ) -> Result<Option<ConnectionWithTokens>, StoreError> {
        if let Ok(read) = self.read.lock()
            && let Some((at, conn)) = read.get(&id)
            && at.elapsed() < TTL
        {
            return Ok(Some(conn.clone()));
        }
        let conn = store.connections().get_with_tokens(id).await?;
        if let (Some(conn), Ok(mut read)) = (&conn, self.read.lock()) {
            if read.len() > PRUNE_ABOVE {
                read.retain(|_, (at, _)| at.elapsed() < TTL);
            }
            read.insert(id, (Instant::now(), conn.clone()));
        }
        Ok(conn)
    }

    /// Reads `id` again next time: this process changed it.
    pub(crate) fn forget(&self, id: ConnectionId) {
        if let Ok(mut read) = self.read.lock() {
            read.remove(&id);
        }
    }
}
