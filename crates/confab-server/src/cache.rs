//! A bounded in-memory cache filled on demand, for answers the hot paths ask on every command
//! (who belongs to a conversation, whom a user blocks).
//!
//! The hazard it exists for: a load reads the database, an invalidation (the data changed) runs,
//! then the load inserts what it read — the old answer, now cached until the next change. So every
//! invalidation bumps an epoch for its key, a load notes the epoch before it reads ([`Ticket`]),
//! and its result is cached only if the epoch has not moved since. The check and the insert
//! happen under the same lock the invalidation takes. Epochs are kept per stripe of keys (a fixed
//! array), not per key, so they take constant memory; two keys sharing a stripe only cost an
//! occasional load that is returned but not cached.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::RwLock;

const STRIPES: usize = 1024;

pub struct Cache<K, V> {
    inner: RwLock<Inner<K, V>>,
    hasher: RandomState,
    max_entries: usize,
}

struct Inner<K, V> {
    entries: HashMap<K, V>,
    epochs: Vec<u64>,
}

/// Taken before a load reads: the load may be cached only while the key's epoch is unchanged.
#[derive(Clone, Copy, Debug)]
pub struct Ticket {
    stripe: usize,
    epoch: u64,
}

impl<K: Hash + Eq, V: Clone> Cache<K, V> {
    /// A cache that forgets everything when it would grow past `max_entries` (crude but safe:
    /// everything reloads on demand).
    pub fn new(max_entries: usize) -> Self {
        Cache {
            inner: RwLock::new(Inner { entries: HashMap::new(), epochs: vec![0; STRIPES] }),
            hasher: RandomState::new(),
            max_entries,
        }
    }

    fn stripe(&self, key: &K) -> usize {
        (self.hasher.hash_one(key) % STRIPES as u64) as usize
    }

    pub fn get(&self, key: &K) -> Option<V> {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).entries.get(key).cloned()
    }

    /// Call before reading the value to cache.
    pub fn ticket(&self, key: &K) -> Ticket {
        let stripe = self.stripe(key);
        let epoch = self.inner.read().unwrap_or_else(|p| p.into_inner()).epochs[stripe];
        Ticket { stripe, epoch }
    }

    /// Caches `value` unless `key` was invalidated since `ticket` was taken; true when cached.
    pub fn insert(&self, key: K, value: V, ticket: Ticket) -> bool {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if inner.epochs[ticket.stripe] != ticket.epoch {
            return false;
        }
        if inner.entries.len() >= self.max_entries {
            inner.entries.clear();
        }
        inner.entries.insert(key, value);
        true
    }

    /// The cached value, or `load`'s (cached unless an invalidation raced it).
    pub async fn get_or_load<E, F, Fut>(&self, key: K, load: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        if let Some(value) = self.get(&key) {
            return Ok(value);
        }
        let ticket = self.ticket(&key);
        let value = load().await?;
        self.insert(key, value.clone(), ticket);
        Ok(value)
    }

    /// Forgets `key`, and makes every load of it already under way uncacheable.
    pub fn invalidate(&self, key: &K) {
        let stripe = self.stripe(key);
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        inner.epochs[stripe] += 1;
        inner.entries.remove(key);
    }

    /// Forgets everything, and makes every load under way uncacheable.
    pub fn clear(&self) {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        inner.epochs.iter_mut().for_each(|e| *e += 1);
        inner.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::oneshot;

    /// Runs a load of key 1 that reads "old", lets `meanwhile` run between its read and its
    /// insert, and returns what the load answered.
    async fn load_racing(cache: &Cache<u32, &'static str>, meanwhile: impl FnOnce()) -> &'static str {
        let (read_tx, read_rx) = oneshot::channel();
        let (go_tx, go_rx) = oneshot::channel::<()>();
        let load = cache.get_or_load(1, || async move {
            let _ = read_tx.send(()); // the database answered with the old state
            let _ = go_rx.await;
            Ok::<_, ()>("old")
        });
        let race = async move {
            let _ = read_rx.await;
            meanwhile();
            let _ = go_tx.send(());
        };
        let (answer, ()) = tokio::join!(load, race);
        answer.unwrap()
    }

    #[tokio::test]
    async fn a_load_that_raced_an_invalidation_is_not_cached() {
        let cache = Cache::new(10);
        let answer = load_racing(&cache, || cache.invalidate(&1)).await;
        assert_eq!(answer, "old", "the racing caller still gets what it read");
        assert_eq!(cache.get(&1), None, "but the stale answer is not kept");

        let fresh = cache.get_or_load(1, || async { Ok::<_, ()>("new") }).await.unwrap();
        assert_eq!((fresh, cache.get(&1)), ("new", Some("new")), "the next load is cached");
    }

    #[tokio::test]
    async fn a_load_that_raced_a_clear_is_not_cached() {
        let cache = Cache::new(10);
        load_racing(&cache, || cache.clear()).await;
        assert_eq!(cache.get(&1), None);
    }

    #[tokio::test]
    async fn loads_are_cached_and_a_failed_load_caches_nothing() {
        let cache: Cache<u32, u32> = Cache::new(2);
        assert_eq!(cache.get_or_load(1, || async { Ok::<_, ()>(10) }).await, Ok(10));
        assert_eq!(cache.get_or_load(1, || async { Err(()) }).await, Ok(10), "served from the cache");
        assert_eq!(cache.get_or_load(2, || async { Err::<u32, _>(()) }).await, Err(()));
        assert_eq!(cache.get(&2), None);
        cache.invalidate(&1);
        assert_eq!(cache.get(&1), None);
    }

    #[test]
    fn a_full_cache_starts_over_instead_of_growing() {
        let cache: Cache<u32, u32> = Cache::new(2);
        for key in 0..5 {
            let ticket = cache.ticket(&key);
            assert!(cache.insert(key, key, ticket));
        }
        assert!(cache.inner.read().unwrap().entries.len() <= 2);
        assert_eq!(cache.get(&4), Some(4));
    }
}
