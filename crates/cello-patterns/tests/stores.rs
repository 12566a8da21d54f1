//! The event store and saga store against real databases: SQLite (a temporary file) and,
//! with the `postgres` feature, the local PostgreSQL (`CELLO_TEST_POSTGRES_URL`, by default
//! the loopback server `scripts/services.sh` starts). Each test has its own table prefix.

use cello_data::{Database, PoolConfig};
use cello_patterns::{EventStore, Expected, NewEvent, PatternsError, SagaStore};
use serde_json::json;
use std::time::Duration;

struct Target {
    db: Database,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> Target {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("events.db").display());
    let mut config = PoolConfig::new(url);
    config.pool_size = 4;
    Target {
        db: Database::connect(config).await.unwrap(),
        _dir: Some(dir),
    }
}

#[cfg(feature = "postgres")]
async fn postgres() -> Target {
    let url = std::env::var("CELLO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    Target {
        db: Database::connect(PoolConfig::new(url)).await.unwrap(),
        _dir: None,
    }
}

/// A fresh prefix per test and run, and the tables it would use dropped first.
async fn fresh(db: &Database, name: &str) -> String {
    let prefix = format!("t_{name}_{}_", std::process::id());
    for table in [
        "events",
        "event_position",
        "snapshots",
        "projections",
        "saga_instances",
        "saga_steps",
        "outbox",
    ] {
        db.execute(&format!("DROP TABLE IF EXISTS {prefix}{table}"), vec![])
            .await
            .unwrap();
    }
    prefix
}

fn event(kind: &str, n: i64) -> NewEvent {
    NewEvent::new(kind, json!({ "n": n }))
}

async fn append_and_read(target: Target, name: &str) {
    let store = EventStore::new(target.db.clone(), fresh(&target.db, name).await);
    let first = store
        .append(
            "order-1",
            Expected::NoStream,
            vec![event("Created", 1), event("Paid", 2)],
        )
        .await
        .unwrap();
    assert_eq!(
        first
            .iter()
            .map(|e| (e.version, e.position))
            .collect::<Vec<_>>(),
        [(1, 1), (2, 2)]
    );
    store
        .append("order-2", Expected::Any, vec![event("Created", 3)])
        .await
        .unwrap();
    let error = store
        .append("order-1", Expected::Exact(1), vec![event("Shipped", 4)])
        .await
        .unwrap_err();
    assert!(
        matches!(error, PatternsError::Concurrency { actual: 2, .. }),
        "{error}"
    );
    let error = store
        .append("order-1", Expected::NoStream, vec![event("Created", 5)])
        .await
        .unwrap_err();
    assert!(matches!(error, PatternsError::Concurrency { .. }));
    store
        .append("order-1", Expected::Exact(2), vec![event("Shipped", 6)])
        .await
        .unwrap();
    let stream = store.read_stream("order-1", 1).await.unwrap();
    assert_eq!(
        stream
            .iter()
            .map(|e| (e.version, e.event_type.as_str()))
            .collect::<Vec<_>>(),
        [(2, "Paid"), (3, "Shipped")]
    );
    assert_eq!(stream[1].data, json!({"n": 6}));
    assert_eq!(stream[1].position, 4, "a rejected append uses no position");
    let all = store.read_all(0, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.position).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(store.read_all(2, 1).await.unwrap()[0].position, 3);
    assert_eq!(store.stream_version("order-1").await.unwrap(), 3);
    assert_eq!(store.stream_version("nobody").await.unwrap(), 0);

    assert!(store.load_snapshot("order-1").await.unwrap().is_none());
    store
        .save_snapshot("order-1", 2, &json!({"total": 10}))
        .await
        .unwrap();
    store
        .save_snapshot("order-1", 3, &json!({"total": 12}))
        .await
        .unwrap();
    let snapshot = store.load_snapshot("order-1").await.unwrap().unwrap();
    assert_eq!(
        (snapshot.version, snapshot.state),
        (3, json!({"total": 12}))
    );
    assert_eq!(store.projection_position("orders").await.unwrap(), 0);
}

/// Two writers append to one stream at the same expected version: exactly one wins.
async fn racing_writers(target: Target, name: &str) {
    let store = EventStore::new(target.db.clone(), fresh(&target.db, name).await);
    store
        .append("acct", Expected::NoStream, vec![event("Opened", 0)])
        .await
        .unwrap();
    for round in 1..=10 {
        let (a, b) = tokio::join!(
            store.append("acct", Expected::Exact(round), vec![event("A", round)]),
            store.append("acct", Expected::Exact(round), vec![event("B", round)]),
        );
        let wins = usize::from(a.is_ok()) + usize::from(b.is_ok());
        assert_eq!(wins, 1, "round {round}: {a:?} {b:?}");
        for result in [a, b] {
            if let Err(error) = result {
                assert!(
                    matches!(error, PatternsError::Concurrency { .. }),
                    "{error}"
                );
            }
        }
    }
    assert_eq!(store.stream_version("acct").await.unwrap(), 11);
}

/// Concurrent appends to many streams leave positions 1..n without a gap.
async fn no_gaps(target: Target, name: &str) {
    let store = EventStore::new(target.db.clone(), fresh(&target.db, name).await);
    let writers = (0..8).map(|writer| {
        let store = store.clone();
        async move {
            for n in 0..10 {
                store
                    .append(
                        &format!("s{writer}"),
                        Expected::Any,
                        vec![event("E", n), event("E", n)],
                    )
                    .await
                    .unwrap();
            }
        }
    });
    futures_join_all(writers).await;
    let all = store.read_all(0, 1000).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=160).collect::<Vec<i64>>()
    );
}

/// New streams created twice at once (PostgreSQL appends those in one statement): one
/// of each pair wins, and the losers' positions are not used up.
async fn no_gaps_when_appends_fail(target: Target, name: &str) {
    let store = EventStore::new(target.db.clone(), fresh(&target.db, name).await);
    let writers = (0..4).map(|_| {
        let store = store.clone();
        async move {
            let mut wins = 0;
            for n in 0..10 {
                let created = store
                    .append(
                        &format!("dup{n}"),
                        Expected::NoStream,
                        vec![event("Created", n), event("Named", n)],
                    )
                    .await;
                match created {
                    Ok(_) => wins += 1,
                    Err(PatternsError::Concurrency { actual: 2, .. }) => {}
                    Err(error) => panic!("{error}"),
                }
            }
            assert!(wins <= 10);
        }
    });
    futures_join_all(writers).await;
    let all = store.read_all(0, 1000).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=20).collect::<Vec<i64>>(),
        "ten streams of two events, positions without a gap"
    );
    for n in 0..10 {
        assert_eq!(store.stream_version(&format!("dup{n}")).await.unwrap(), 2);
    }
}

async fn futures_join_all<F: std::future::Future<Output = ()> + 'static>(
    futures: impl Iterator<Item = F>,
) {
    let set = tokio::task::LocalSet::new();
    let handles: Vec<_> = futures.map(|future| set.spawn_local(future)).collect();
    set.run_until(async {
        for handle in handles {
            handle.await.unwrap();
        }
    })
    .await;
}

async fn saga_checkpoints(target: Target, name: &str) {
    let sagas = SagaStore::new(target.db.clone(), fresh(&target.db, name).await);
    let steps = vec!["reserve".to_owned(), "charge".to_owned()];
    sagas
        .start(
            "s-1",
            "OrderSaga",
            &json!({"order": 1}),
            &steps,
            "worker-a",
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    // The lease: its owner renews it, another owner cannot take it while it runs, and
    // anyone may once it has run out.
    assert!(sagas
        .claim("s-1", "worker-a", Duration::from_secs(60))
        .await
        .unwrap());
    assert!(!sagas
        .claim("s-1", "worker-b", Duration::from_secs(60))
        .await
        .unwrap());
    assert!(sagas
        .claim("s-1", "worker-a", Duration::ZERO)
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(sagas
        .claim("s-1", "worker-b", Duration::from_secs(60))
        .await
        .unwrap());
    assert!(!sagas
        .claim("missing", "worker-b", Duration::from_secs(60))
        .await
        .unwrap());
    sagas
        .record_step(
            "s-1",
            0,
            "completed",
            1,
            Some(&json!({"ok": true})),
            None,
            &json!({"order": 1, "reserved": true}),
        )
        .await
        .unwrap();
    let unfinished = sagas.unfinished().await.unwrap();
    assert_eq!(unfinished.len(), 1);
    let instance = &unfinished[0];
    assert_eq!(instance.context, json!({"order": 1, "reserved": true}));
    assert_eq!(
        instance
            .steps
            .iter()
            .map(|s| s.status.as_str())
            .collect::<Vec<_>>(),
        ["completed", "pending"]
    );
    assert_eq!(instance.steps[0].result, Some(json!({"ok": true})));
    sagas.set_status("s-1", "completed", None).await.unwrap();
    assert!(sagas.unfinished().await.unwrap().is_empty());
    let listed = sagas
        .list(Some("completed"), Some("OrderSaga"))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert!(sagas.get("missing").await.unwrap().is_none());
    let error = sagas
        .record_step("s-1", 7, "completed", 1, None, None, &json!({}))
        .await
        .unwrap_err();
    assert!(matches!(error, PatternsError::Invalid(_)));
}

async fn outbox_rows(target: Target, name: &str) {
    let prefix = fresh(&target.db, name).await;
    let store = EventStore::new(target.db.clone(), prefix.clone()).with_outbox("orders");
    store
        .append(
            "o-1",
            Expected::NoStream,
            vec![event("A", 1), event("B", 2)],
        )
        .await
        .unwrap();
    // A losing append writes no outbox row either.
    let lost = store
        .append("o-1", Expected::NoStream, vec![event("C", 3)])
        .await;
    assert!(matches!(lost, Err(PatternsError::Concurrency { .. })));
    let rows = target
        .db
        .fetch_all(
            &format!(
                "SELECT destination, message_key, payload, seq FROM {prefix}outbox ORDER BY seq"
            ),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let payload = |index: usize| match rows[index].get(2) {
        Some(cello_data::Value::Text(text)) => {
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        }
        other => panic!("payload {other:?}"),
    };
    assert_eq!(payload(0)["event_type"], "A");
    assert_eq!(payload(1)["data"], json!({"n": 2}));
    assert_eq!(payload(1)["version"], 2);
    assert_eq!(
        rows[0].get(0),
        Some(&cello_data::Value::Text("orders".into()))
    );
    assert_eq!(rows[0].get(1), Some(&cello_data::Value::Text("o-1".into())));
}

#[tokio::test]
async fn sqlite_outbox_rows() {
    outbox_rows(sqlite().await, "outbox").await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_outbox_rows() {
    outbox_rows(postgres().await, "outbox").await;
}

#[tokio::test]
async fn sqlite_append_and_read() {
    append_and_read(sqlite().await, "ar").await;
}

#[tokio::test]
async fn sqlite_racing_writers() {
    racing_writers(sqlite().await, "race").await;
}

#[tokio::test]
async fn sqlite_no_gaps() {
    no_gaps(sqlite().await, "gaps").await;
}

#[tokio::test]
async fn sqlite_saga_checkpoints() {
    saga_checkpoints(sqlite().await, "saga").await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_append_and_read() {
    append_and_read(postgres().await, "ar").await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_racing_writers() {
    racing_writers(postgres().await, "race").await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_no_gaps() {
    no_gaps(postgres().await, "gaps").await;
}

#[tokio::test]
async fn sqlite_no_gaps_when_appends_fail() {
    no_gaps_when_appends_fail(sqlite().await, "sqlite_dups").await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_no_gaps_when_appends_fail() {
    no_gaps_when_appends_fail(postgres().await, "pg_dups").await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_saga_checkpoints() {
    saga_checkpoints(postgres().await, "saga").await;
}
