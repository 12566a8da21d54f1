//! Row decoding and JSON encoding: 1,000 rows of SQLite (no server, so the numbers
//! are the crate's own cost plus SQLite's), and encoding rows to JSON alone.

use std::sync::Arc;

use cello_data::{Columns, Database, PoolConfig, Row, Value};
use criterion::{criterion_group, criterion_main, Criterion};

fn rows_to_json(c: &mut Criterion) {
    let columns = Arc::new(Columns::new(vec![
        "id".into(),
        "randomnumber".into(),
        "message".into(),
    ]));
    let rows: Vec<Row> = (0..1000)
        .map(|id| {
            Row::new(
                Arc::clone(&columns),
                vec![
                    Value::Int(id),
                    Value::Int(id * 7),
                    Value::Text("hello, <world>".into()),
                ],
            )
        })
        .collect();
    c.bench_function("encode 1000 rows to json", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(64 * 1024);
            Row::write_json_array(&rows, &mut out);
            out
        });
    });
}

fn sqlite_fetch(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = runtime.block_on(async {
        let db = Database::connect(PoolConfig::new("sqlite::memory:"))
            .await
            .unwrap();
        db.execute(
            "CREATE TABLE world (id INTEGER PRIMARY KEY, randomnumber INTEGER)",
            vec![],
        )
        .await
        .unwrap();
        let batch = (1..=1000)
            .map(|id| vec![Value::Int(id), Value::Int(id % 97)])
            .collect();
        db.execute_many("INSERT INTO world VALUES (?, ?)", batch)
            .await
            .unwrap();
        db
    });
    c.bench_function("sqlite fetch one row by id", |b| {
        b.iter(|| {
            runtime
                .block_on(db.fetch_optional(
                    "SELECT id, randomnumber FROM world WHERE id = ?",
                    vec![Value::Int(500)],
                ))
                .unwrap()
        });
    });
    c.bench_function("sqlite fetch 1000 rows", |b| {
        b.iter(|| {
            runtime
                .block_on(db.fetch_all("SELECT id, randomnumber FROM world", vec![]))
                .unwrap()
        });
    });
}

criterion_group!(benches, rows_to_json, sqlite_fetch);
criterion_main!(benches);
