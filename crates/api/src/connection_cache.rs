//! The connections `POST /v1/posts` names, remembered in process for a moment, so a flood
//! of posts to the same accounts costs no connection lookup each.
//!
//! The same bound as the key cache ([`crate::key_cache`]): an entry lives
//! `api.key_cache_ttl_ms` (at most 5 s) from the lookup that read it, and is never extended
//! by use, so a connection disabled, deleted, marked for reconnection or given another page
//! in Postgres (by a worker, an operator or another instance) is seen by every instance
//! within that time. What this instance changes itself it forgets at once ([`forget`]).
//! Only connections found are remembered: an unknown id is looked up every time, so a
//! connection made a moment ago is never refused. A post that slips through with a
//! connection deleted meanwhile is refused by the store's foreign key, never written. At
//! most `api.key_cache_capacity` entries: when full, expired ones go first, then the
//! oldest.
//!
//! [`forget`]: ConnectionCache::forget

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use herald_domain::{ConnectionId, TenantId};
use herald_store::{Connection, Store, StoreError};

#[derive(Debug)]
struct Entry {
    connection: Connection,
    expires: Instant,
}

/// The cache of one API instance.
#[derive(Debug)]
pub(crate) struct ConnectionCache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<ConnectionId, Entry>>,
}

impl ConnectionCache {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.capacity > 0
    }

    /// The connections of `tenant_id` among `ids` (another tenant's are not found), from
    /// the cache where it has them fresh and from the store, in one query, for the rest.
    pub(crate) async fn of_tenant(
        &self,
        store: &Store,
        tenant_id: TenantId,
        ids: &[ConnectionId],
    ) -> Result<Vec<Connection>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        {
            let now = Instant::now();
            let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            for id in ids {
                match entries.get(id) {
                    Some(e) if e.expires > now && e.connection.tenant_id == tenant_id => {
                        found.push(e.connection.clone());
                    }
                    _ => missing.push(*id),
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let read = store
            .connections()
            .get_many_for_tenant(tenant_id, &missing)
            .await?;
        self.insert(&read);
        found.extend(read);
        Ok(found)
    }

    /// Forgets a connection this instance just changed, so its next post sees the change.
    pub(crate) fn forget(&self, id: ConnectionId) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(&id);
    }

    fn insert(&self, connections: &[Connection]) {
        if !self.enabled() || connections.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        for connection in connections {
            if entries.len() >= self.capacity && !entries.contains_key(&connection.id) {
                entries.retain(|_, e| e.expires > now);
            }
            if entries.len() >= self.capacity && !entries.contains_key(&connection.id) {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, e)| e.expires)
                    .map(|(id, _)| *id);
                if let Some(oldest) = oldest {
                    entries.remove(&oldest);
                }
            }
            entries.insert(
                connection.id,
                Entry {
                    connection: connection.clone(),
                    expires: now + self.ttl,
                },
            );
        }
    }
}
