//! A map whose entries are good for a fixed time: what Lambdas keep between
//! invocations of one container to spare reads that rarely change.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Entries kept at most (a few hundred KiB at the sizes stored here).
pub const MAX_ENTRIES: usize = 4096;

pub struct TtlMap<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> TtlMap<K, V> {
    /// A zero `ttl` keeps nothing.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::default(),
        }
    }

    /// The value for `key` if it was stored less than the time to live ago.
    pub fn fresh(&self, key: &K) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(stored_at, _)| stored_at.elapsed() < self.ttl)
            .map(|(_, value)| value.clone())
    }

    /// Stores `value`. Past `MAX_ENTRIES`, expired entries go first, and if all
    /// are fresh, everything: clients choose the keys, memory must stay bounded.
    pub fn insert(&self, key: K, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (stored_at, _)| stored_at.elapsed() < self.ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_a_zero_ttl_keeps_nothing() {
        let map = TtlMap::new(Duration::from_millis(30));
        map.insert("a", 1);
        assert_eq!(map.fresh(&"a"), Some(1));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(map.fresh(&"a"), None);
        let bounded = TtlMap::new(Duration::from_secs(60));
        for i in 0..=MAX_ENTRIES {
            bounded.insert(i, i);
        }
        assert_eq!(bounded.fresh(&MAX_ENTRIES), Some(MAX_ENTRIES));
        assert!(bounded.entries.lock().expect("lock").len() <= MAX_ENTRIES);
        let none = TtlMap::new(Duration::ZERO);
        none.insert("a", 1);
        assert_eq!(none.fresh(&"a"), None);
    }
}
