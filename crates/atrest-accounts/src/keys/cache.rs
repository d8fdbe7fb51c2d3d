//! The key cache: unwrapped account keys in memory, and which vaults are not answering.
//!
//! Keys are `Arc<LockedKey>`: on a page of their own, locked in memory where the OS allows
//! (see [`LockedKey`]), and wiped when the last holder drops them (an eviction while a request
//! streams finishes that request, then wipes). Outages are kept
//! apart from keys, so that a key may be served through a vault outage until the hard limit
//! and then evicted while the outage is still remembered (503 until the vault answers).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atrest_crypto::SecretKey;

use super::locked::LockedKey;

/// A vault outage as seen for one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    /// Unix seconds of the first failed check.
    pub since: i64,
    started: Instant,
}

impl Outage {
    /// How long the vault has not answered.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

#[derive(Default)]
struct Inner {
    keys: HashMap<String, Arc<LockedKey>>,
    outages: HashMap<String, Outage>,
}

/// The cache. Shared by every request and the revalidation job.
#[derive(Default)]
pub struct KeyCache {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache").finish_non_exhaustive()
    }
}

impl KeyCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached key and the current outage, if any.
    pub fn get(&self, account_id: &str) -> (Option<Arc<LockedKey>>, Option<Outage>) {
        let inner = self.lock();
        (
            inner.keys.get(account_id).cloned(),
            inner.outages.get(account_id).copied(),
        )
    }

    /// Stores a freshly validated key and forgets any outage.
    pub fn put(&self, account_id: &str, key: SecretKey) -> Arc<LockedKey> {
        let key = Arc::new(LockedKey::new(key));
        let mut inner = self.lock();
        inner.keys.insert(account_id.to_owned(), key.clone());
        inner.outages.remove(account_id);
        key
    }

    /// Records a failed check (keeping the first failure's time) and returns the outage.
    pub fn note_outage(&self, account_id: &str, now: i64) -> Outage {
        *self
            .lock()
            .outages
            .entry(account_id.to_owned())
            .or_insert(Outage {
                since: now,
                started: Instant::now(),
            })
    }

    /// Drops the key (wiped once no request holds it) but remembers the outage.
    pub fn evict(&self, account_id: &str) {
        self.lock().keys.remove(account_id);
    }

    /// Drops the key and any outage.
    pub fn forget(&self, account_id: &str) {
        let mut inner = self.lock();
        inner.keys.remove(account_id);
        inner.outages.remove(account_id);
    }

    /// Accounts with a cached key.
    pub fn cached_accounts(&self) -> Vec<String> {
        self.lock().keys.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outage_keeps_first_time_and_put_clears_it() {
        let cache = KeyCache::default();
        cache.put("a", SecretKey::generate().unwrap());
        assert_eq!(cache.note_outage("a", 10).since, 10);
        assert_eq!(cache.note_outage("a", 20).since, 10);
        cache.evict("a");
        let (key, outage) = cache.get("a");
        assert!(key.is_none() && outage.is_some());
        cache.put("a", SecretKey::generate().unwrap());
        assert!(cache.get("a").1.is_none());
        cache.forget("a");
        assert!(cache.get("a").0.is_none());
    }
}
