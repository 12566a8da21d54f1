//! A map that remembers the order in which its keys were last used, so that its owner
//! can forget the least recently used first: the response cache and the circuit breaker
//! keep state per key, and keys that clients choose (random paths) must not grow memory
//! without bound. The owner decides when to forget (a count, a byte budget) with
//! [`Lru::pop_oldest`].
//!
//! Use order is a `BTreeMap` from a use counter to the key: O(log n) per touch, no
//! unsafe linked list, and the oldest key is the first entry of the tree.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

pub(crate) struct Lru<K, V> {
    map: HashMap<K, Slot<V>>,
    order: BTreeMap<u64, K>,
    clock: u64,
}

struct Slot<V> {
    value: V,
    used: u64,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    pub(crate) fn new() -> Self {
        Self {
            map: HashMap::new(),
            order: BTreeMap::new(),
            clock: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// The value under `key`, marked as just used.
    pub(crate) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slot = self.map.get_mut(key)?;
        self.clock += 1;
        if let Some(owned) = self.order.remove(&slot.used) {
            self.order.insert(self.clock, owned);
        }
        slot.used = self.clock;
        Some(&mut slot.value)
    }

    /// Puts `value` under `key` as the most recently used; the value it replaces.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.clock += 1;
        let old = self.map.insert(
            key.clone(),
            Slot {
                value,
                used: self.clock,
            },
        );
        if let Some(old) = &old {
            self.order.remove(&old.used);
        }
        self.order.insert(self.clock, key);
        old.map(|slot| slot.value)
    }

    pub(crate) fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slot = self.map.remove(key)?;
        self.order.remove(&slot.used);
        Some(slot.value)
    }

    /// Removes and returns the least recently used entry.
    pub(crate) fn pop_oldest(&mut self) -> Option<(K, V)> {
        let (_, key) = self.order.pop_first()?;
        let slot = self.map.remove(&key)?;
        Some((key, slot.value))
    }
}

#[cfg(test)]
mod tests {
    use super::Lru;

    #[test]
    fn forgets_the_least_recently_used_first() {
        let mut lru = Lru::new();
        lru.insert("a", 1);
        lru.insert("b", 2);
        lru.insert("c", 3);
        *lru.get_mut("a").unwrap() += 10; // a is now the newest
        assert_eq!(lru.pop_oldest(), Some(("b", 2)));
        assert_eq!(lru.insert("c", 30), Some(3)); // replacing marks as used too
        assert_eq!(lru.pop_oldest(), Some(("a", 11)));
        assert_eq!(lru.remove("c"), Some(30));
        assert_eq!(lru.pop_oldest(), None);
        assert_eq!(lru.len(), 0);
    }
}
