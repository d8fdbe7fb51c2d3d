//! A read-through cache of database rows that only this process writes.
//!
//! The hot paths (every Key Vault crypto call) re-read the caller, the vault with its access
//! policies and the key version so that a change takes effect at once. Reading them from
//! SQLite costs a worker-thread round trip each; this cache keeps the rows in memory and stays
//! exact instead of merely fresh: every committed write to the cached tables calls
//! [`RowCache::invalidate`] before the write is acknowledged, and a load that overlapped a write
//! is never stored. One process owns the database (the data directory's lock file), so there
//! is no writer this cache cannot see.

use std::future::Future;
use std::hash::Hash;
use std::sync::RwLock;

/// Rows by key, dropped as a whole on any write.
pub struct RowCache<K, V> {
    entries: quick_cache::sync::Cache<K, V>,
    /// Bumped by every invalidation. A load stores its row only if the generation it started
    /// under is still current; the lock makes "check, then store" atomic with respect to
    /// "bump, then clear".
    generation: RwLock<u64>,
}

impl<K, V> std::fmt::Debug for RowCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowCache").finish_non_exhaustive()
    }
}

impl<K, V> RowCache<K, V>
where
    K: Eq + Hash + Clone,
    V: Clone,
{
    /// A cache of at most `capacity` rows.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: quick_cache::sync::Cache::new(capacity),
            generation: RwLock::new(0),
        }
    }

    /// The cached row, or the one `load` reads (which is then cached). Absent rows are not
    /// cached, so creating one needs no invalidation to be seen (it still gets one).
    pub async fn get_or_load<E, F, Fut>(&self, key: &K, load: F) -> Result<Option<V>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<V>, E>>,
    {
        if let Some(hit) = self.entries.get(key) {
            return Ok(Some(hit));
        }
        let ticket = self.generation();
        let loaded = load().await?;
        if let Some(row) = &loaded {
            let generation = self.generation.read().unwrap_or_else(|e| e.into_inner());
            if *generation == ticket {
                self.entries.insert(key.clone(), row.clone());
            }
        }
        Ok(loaded)
    }

    /// Forgets every row. Call after a write to the cached tables has committed and before it
    /// is acknowledged.
    pub fn invalidate(&self) {
        let mut generation = self.generation.write().unwrap_or_else(|e| e.into_inner());
        *generation += 1;
        self.entries.clear();
    }

    fn generation(&self) -> u64 {
        *self.generation.read().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    #[tokio::test]
    async fn hits_skip_the_load_and_invalidation_forces_a_new_one() {
        let cache = RowCache::<&str, u32>::new(16);
        let first = cache
            .get_or_load(&"a", || async { Ok::<_, Infallible>(Some(1)) })
            .await;
        assert_eq!(first, Ok(Some(1)));
        let cached = cache
            .get_or_load(&"a", || async { Ok::<_, Infallible>(Some(2)) })
            .await;
        assert_eq!(cached, Ok(Some(1)), "a hit must not call the loader");
        cache.invalidate();
        let reloaded = cache
            .get_or_load(&"a", || async { Ok::<_, Infallible>(Some(2)) })
            .await;
        assert_eq!(reloaded, Ok(Some(2)));
    }

    #[tokio::test]
    async fn a_load_that_overlapped_a_write_is_not_stored() {
        let cache = RowCache::<&str, u32>::new(16);
        let stale = cache
            .get_or_load(&"a", || async {
                // The row was read, then a writer committed and invalidated.
                cache.invalidate();
                Ok::<_, Infallible>(Some(1))
            })
            .await;
        assert_eq!(stale, Ok(Some(1)), "the caller still gets what it read");
        let next = cache
            .get_or_load(&"a", || async { Ok::<_, Infallible>(Some(2)) })
            .await;
        assert_eq!(
            next,
            Ok(Some(2)),
            "the overlapped load must not have been cached"
        );
    }

    #[tokio::test]
    async fn absent_rows_and_errors_are_not_cached() {
        let cache = RowCache::<&str, u32>::new(16);
        let missing = cache
            .get_or_load(&"a", || async { Ok::<_, Infallible>(None) })
            .await;
        assert_eq!(missing, Ok(None));
        let failed = cache.get_or_load(&"a", || async { Err("down") }).await;
        assert_eq!(failed, Err("down"));
        let present = cache
            .get_or_load(&"a", || async { Ok::<_, Infallible>(Some(3)) })
            .await;
        assert_eq!(present, Ok(Some(3)));
    }
}
