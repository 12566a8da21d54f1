use std::time::Duration;

use bytes::Bytes;

use super::{MemoryStore, MemoryStoreConfig, Store, StoreConfig};
use crate::error::StoreError;

fn memory(max_entries: usize) -> MemoryStore {
    MemoryStore::new(&MemoryStoreConfig { max_entries }).unwrap()
}

#[tokio::test(start_paused = true)]
async fn values_expire_after_their_ttl() {
    let store = Store::Memory(memory(10));
    store
        .set("a", Bytes::from_static(b"one"), Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(store.get("a").await.unwrap().as_deref(), Some(&b"one"[..]));
    tokio::time::advance(Duration::from_millis(1999)).await;
    assert!(store.get("a").await.unwrap().is_some());
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(store.get("a").await.unwrap(), None);
    assert!(!store.delete("a").await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn counters_keep_the_expiry_of_their_first_increment() {
    let store = Store::Memory(memory(10));
    let ttl = Duration::from_secs(10);
    assert_eq!(store.increment("c", 1, ttl).await.unwrap(), 1);
    tokio::time::advance(Duration::from_secs(6)).await;
    assert_eq!(store.increment("c", 2, ttl).await.unwrap(), 3);
    tokio::time::advance(Duration::from_secs(4)).await;
    // Ten seconds after the first increment: a new window.
    assert_eq!(store.increment("c", 1, ttl).await.unwrap(), 1);
    assert!(store.delete("c").await.unwrap());
}

#[tokio::test]
async fn a_value_of_another_kind_is_an_error_and_is_kept() {
    let store = memory(10);
    store
        .set("k", Bytes::from_static(b"x"), Duration::from_secs(5))
        .unwrap();
    let error = store.increment("k", 1, Duration::from_secs(5)).unwrap_err();
    assert!(matches!(error, StoreError::WrongKind { .. }), "{error}");
    let error = store
        .update::<u32, ()>("k", |_, _| ((), Duration::from_secs(1)))
        .unwrap_err();
    assert!(matches!(error, StoreError::WrongKind { .. }), "{error}");
    assert_eq!(store.get("k").unwrap().as_deref(), Some(&b"x"[..]));
}

#[tokio::test(start_paused = true)]
async fn the_store_stays_within_max_entries() {
    let store = memory(64);
    for i in 0..1000 {
        store
            .set(&format!("key{i}"), Bytes::new(), Duration::from_secs(60))
            .unwrap();
        assert!(store.len() <= 64);
    }
    // Expired entries go first: after they expire, new keys evict nothing live.
    tokio::time::advance(Duration::from_secs(61)).await;
    for i in 0..64 {
        store
            .set(&format!("new{i}"), Bytes::new(), Duration::from_secs(60))
            .unwrap();
    }
    assert_eq!(store.len(), 64);
    for i in 0..64 {
        assert!(store.get(&format!("new{i}")).unwrap().is_some());
    }
}

#[tokio::test(start_paused = true)]
async fn update_sees_its_state_until_it_expires() {
    let store = memory(10);
    let bump = |state: &mut Option<u32>, _now| {
        let next = state.map_or(1, |n| n + 1);
        *state = Some(next);
        (next, Duration::from_secs(1))
    };
    assert_eq!(store.update("s", bump).unwrap(), 1);
    assert_eq!(store.update("s", bump).unwrap(), 2);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(store.update("s", bump).unwrap(), 1);
    // Leaving None removes the key.
    store
        .update::<u32, ()>("s", |state, _| {
            *state = None;
            ((), Duration::ZERO)
        })
        .unwrap();
    assert!(store.is_empty());
}

#[test]
fn a_memory_store_needs_room_for_one_entry() {
    let error = Store::new(&StoreConfig::Memory(MemoryStoreConfig { max_entries: 0 })).unwrap_err();
    assert!(
        error.to_string().contains("max_entries must be at least 1"),
        "{error}"
    );
}
