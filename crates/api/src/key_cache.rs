//! Valid API keys remembered in process for a moment, so a flood of good requests costs no
//! database lookup each.
//!
//! An entry lives `api.key_cache_ttl_ms` (at most 5 s) from the lookup that found the key
//! valid, and is never extended by use: a key revoked in Postgres stops working on every
//! instance within that time. Only successes are remembered; an unknown, wrong or revoked
//! key is looked up every time (the failure throttles bound how often). Entries are keyed
//! by the SHA-256 of the presented key, so the cache holds no usable key. At most
//! `api.key_cache_capacity` entries: when full, expired ones go first, then the oldest.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use herald_store::AuthenticatedKey;
use sha2::{Digest, Sha256};

type Fingerprint = [u8; 32];

#[derive(Debug)]
struct Entry {
    key: AuthenticatedKey,
    expires: Instant,
}

/// The cache of one API instance.
#[derive(Debug)]
pub(crate) struct KeyCache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<Fingerprint, Entry>>,
}

impl KeyCache {
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

    /// The key `presented` stands for, if it was found valid less than the TTL ago.
    pub(crate) fn get(&self, presented: &str) -> Option<AuthenticatedKey> {
        if !self.enabled() {
            return None;
        }
        let fingerprint = fingerprint(presented);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(&fingerprint) {
            Some(entry) if entry.expires > Instant::now() => Some(entry.key.clone()),
            Some(_) => {
                entries.remove(&fingerprint);
                None
            }
            None => None,
        }
    }

    /// Remembers that `presented` is `key`, as of a lookup that just succeeded.
    pub(crate) fn insert(&self, presented: &str, key: AuthenticatedKey) {
        if !self.enabled() {
            return;
        }
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.capacity {
            entries.retain(|_, e| e.expires > now);
        }
        if entries.len() >= self.capacity {
            let oldest = entries
                .iter()
                .min_by_key(|(_, e)| e.expires)
                .map(|(f, _)| *f);
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        entries.insert(
            fingerprint(presented),
            Entry {
                key,
                expires: now + self.ttl,
            },
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }
}

fn fingerprint(presented: &str) -> Fingerprint {
    Sha256::digest(presented.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_domain::{ApiKeyId, Scope, TenantId};

    fn key() -> AuthenticatedKey {
        AuthenticatedKey {
            key_id: ApiKeyId::new(),
            tenant_id: TenantId::new(),
            scopes: vec![Scope::Read],
        }
    }

    #[test]
    fn a_valid_key_is_remembered_until_its_ttl_and_no_longer() {
        let cache = KeyCache::new(Duration::from_millis(50), 10);
        let k = key();
        assert_eq!(cache.get("hrld_a"), None);
        cache.insert("hrld_a", k.clone());
        assert_eq!(cache.get("hrld_a"), Some(k));
        assert_eq!(cache.get("hrld_b"), None, "another key is not found");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get("hrld_a"), None, "expired");
    }

    #[test]
    fn the_cache_never_holds_more_than_its_capacity() {
        let cache = KeyCache::new(Duration::from_secs(5), 3);
        for i in 0..10 {
            cache.insert(&format!("hrld_{i}"), key());
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.get("hrld_9").is_some(), "the newest stays");
        assert!(cache.get("hrld_0").is_none(), "the oldest went");
    }

    #[test]
    fn a_zero_ttl_turns_the_cache_off() {
        let cache = KeyCache::new(Duration::ZERO, 3);
        cache.insert("hrld_a", key());
        assert_eq!(cache.get("hrld_a"), None);
    }
}
