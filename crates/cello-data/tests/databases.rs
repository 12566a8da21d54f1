//! cello-data against real databases: SQLite (a temporary file), the local PostgreSQL
//! and MariaDB/MySQL (`CELLO_TEST_POSTGRES_URL`, `CELLO_TEST_MYSQL_URL`; by default the
//! loopback servers `scripts/services.sh` starts). Each test uses tables of its own, so
//! the tests run in parallel.
#![cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]

use std::time::Duration;

use cello_data::{
    DataError, Database, ErrorClass, IsolationLevel, PoolConfig, Row, TransactionOptions, Value,
};

#[cfg(feature = "postgres")]
fn postgres_url() -> String {
    std::env::var("CELLO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

#[cfg(feature = "mysql")]
fn mysql_url() -> String {
    std::env::var("CELLO_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

/// One database under test: its pool, its placeholder style and a table-name suffix.
struct Target {
    db: Database,
    suffix: &'static str,
    dollar: bool,
    _dir: Option<tempfile::TempDir>,
}

impl Target {
    /// `?` placeholders rewritten to `$1, $2, ...` for PostgreSQL.
    fn sql(&self, sql: &str) -> String {
        let sql = sql.replace("{t}", self.suffix);
        if !self.dollar {
            return sql;
        }
        let mut out = String::new();
        let mut index = 0;
        for ch in sql.chars() {
            if ch == '?' {
                index += 1;
                out.push_str(&format!("${index}"));
            } else {
                out.push(ch);
            }
        }
        out
    }

    async fn run(&self, sql: &str) {
        self.db
            .execute(&self.sql(sql), vec![])
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"));
    }
}

#[cfg(feature = "sqlite")]
async fn sqlite(config: impl FnOnce(&mut PoolConfig)) -> Target {
    let dir = tempfile::tempdir().unwrap();
    let mut pool = PoolConfig::new(format!("sqlite://{}", dir.path().join("test.db").display()));
    config(&mut pool);
    Target {
        db: Database::connect(pool).await.unwrap(),
        suffix: "sqlite",
        dollar: false,
        _dir: Some(dir),
    }
}

#[cfg(feature = "postgres")]
async fn postgres(config: impl FnOnce(&mut PoolConfig)) -> Target {
    let mut pool = PoolConfig::new(postgres_url());
    config(&mut pool);
    Target {
        db: Database::connect(pool)
            .await
            .expect("PostgreSQL on 127.0.0.1:5432 (scripts/services.sh)"),
        suffix: "pg",
        dollar: true,
        _dir: None,
    }
}

#[cfg(feature = "mysql")]
async fn mysql(config: impl FnOnce(&mut PoolConfig)) -> Target {
    let mut pool = PoolConfig::new(mysql_url());
    config(&mut pool);
    Target {
        db: Database::connect(pool)
            .await
            .expect("MariaDB on 127.0.0.1:3306 (scripts/services.sh)"),
        suffix: "my",
        dollar: false,
        _dir: None,
    }
}

fn json(rows: &[Row]) -> String {
    let mut out = Vec::new();
    Row::write_json_array(rows, &mut out);
    String::from_utf8(out).unwrap()
}

async fn crud(target: Target, table: &str) {
    let t = |sql: &str| sql.replace("{table}", table);
    target.run(&t("DROP TABLE IF EXISTS {table}_{t}")).await;
    target
        .run(&t("CREATE TABLE {table}_{t} (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL UNIQUE, score INTEGER)"))
        .await;
    let db = &target.db;
    let insert = target.sql(&t(
        "INSERT INTO {table}_{t} (id, name, score) VALUES (?, ?, ?)",
    ));
    for (id, name) in [(1, "ada"), (2, "grace")] {
        let affected = db
            .execute(
                &insert,
                vec![Value::Int(id), Value::Text(name.into()), Value::Null],
            )
            .await
            .unwrap();
        assert_eq!(affected, 1);
    }
    let updated = db
        .execute(
            &target.sql(&t("UPDATE {table}_{t} SET score = ? WHERE id = ?")),
            vec![Value::Int(7), Value::Int(2)],
        )
        .await
        .unwrap();
    assert_eq!(updated, 1);
    let rows = db
        .fetch_all(
            &target.sql(&t("SELECT id, name, score FROM {table}_{t} ORDER BY id")),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        json(&rows),
        r#"[{"id":1,"name":"ada","score":null},{"id":2,"name":"grace","score":7}]"#
    );
    let one = db
        .fetch_optional(
            &target.sql(&t("SELECT name FROM {table}_{t} WHERE id = ?")),
            vec![Value::Int(2)],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(one.get_by_name("name"), Some(&Value::Text("grace".into())));
    let none = db
        .fetch_optional(
            &target.sql(&t("SELECT name FROM {table}_{t} WHERE id = ?")),
            vec![Value::Int(9)],
        )
        .await;
    assert!(none.unwrap().is_none());

    let error = db
        .execute(
            &insert,
            vec![Value::Int(3), Value::Text("ada".into()), Value::Null],
        )
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::UniqueViolation, "{error}");
    assert!(error.code().is_some(), "{error:?}");
    let error = db
        .execute(&target.sql("SELEC 1"), vec![])
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Programming, "{error:?}");

    let total = db
        .execute_many(
            &insert,
            vec![
                vec![Value::Int(10), Value::Text("x".into()), Value::Int(1)],
                vec![Value::Int(11), Value::Text("y".into()), Value::Int(2)],
            ],
        )
        .await
        .unwrap();
    assert_eq!(total, 2);
    // One failure in a batch undoes the whole batch.
    let failed = db
        .execute_many(
            &insert,
            vec![
                vec![Value::Int(12), Value::Text("z".into()), Value::Int(1)],
                vec![Value::Int(13), Value::Text("x".into()), Value::Int(2)],
            ],
        )
        .await;
    assert!(failed.is_err());
    let count = db
        .fetch_optional(
            &target.sql(&t("SELECT COUNT(*) AS n FROM {table}_{t}")),
            vec![],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(count.get(0), Some(&Value::Int(4)));
    let stats = db.stats();
    assert!(stats.queries >= 8 && stats.errors >= 2, "{stats:?}");
    target.run(&t("DROP TABLE {table}_{t}")).await;
}

async fn transactions(target: Target) {
    target.run("DROP TABLE IF EXISTS tx_{t}").await;
    target
        .run("CREATE TABLE tx_{t} (id INTEGER PRIMARY KEY)")
        .await;
    let insert = target.sql("INSERT INTO tx_{t} (id) VALUES (?)");
    let ids = |target: &Target| {
        let sql = target.sql("SELECT id FROM tx_{t} ORDER BY id");
        let db = target.db.clone();
        async move {
            db.fetch_all(&sql, vec![])
                .await
                .unwrap()
                .iter()
                .map(|row| row.get(0).cloned().unwrap())
                .collect::<Vec<_>>()
        }
    };
    let mut tx = target
        .db
        .begin(TransactionOptions::default())
        .await
        .unwrap();
    tx.execute(&insert, vec![Value::Int(1)]).await.unwrap();
    let depth = tx.savepoint().await.unwrap();
    tx.execute(&insert, vec![Value::Int(2)]).await.unwrap();
    tx.rollback_to_savepoint(depth).await.unwrap();
    let depth = tx.savepoint().await.unwrap();
    tx.execute(&insert, vec![Value::Int(3)]).await.unwrap();
    tx.release_savepoint(depth).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(ids(&target).await, vec![Value::Int(1), Value::Int(3)]);
    assert!(matches!(
        tx.commit().await,
        Err(DataError::TransactionDone("committed"))
    ));

    let mut tx = target
        .db
        .begin(TransactionOptions::default())
        .await
        .unwrap();
    tx.execute(&insert, vec![Value::Int(4)]).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(ids(&target).await, vec![Value::Int(1), Value::Int(3)]);

    let options = TransactionOptions {
        isolation: Some(IsolationLevel::Serializable),
        read_only: true,
    };
    let mut tx = target.db.begin(options).await.unwrap();
    assert_eq!(
        tx.fetch_all(&target.sql("SELECT id FROM tx_{t}"), vec![])
            .await
            .unwrap()
            .len(),
        2
    );
    tx.commit().await.unwrap();
    target.run("DROP TABLE tx_{t}").await;
}

/// A transaction dropped while open (a cancelled request) rolls back, and its only
/// connection serves the next statement.
async fn dropped_transaction_returns_its_connection(target: Target) {
    target.run("DROP TABLE IF EXISTS dropped_{t}").await;
    target
        .run("CREATE TABLE dropped_{t} (id INTEGER PRIMARY KEY)")
        .await;
    let mut tx = target
        .db
        .begin(TransactionOptions::default())
        .await
        .unwrap();
    tx.execute(
        &target.sql("INSERT INTO dropped_{t} (id) VALUES (?)"),
        vec![Value::Int(1)],
    )
    .await
    .unwrap();
    drop(tx);
    let rows = target
        .db
        .fetch_all(&target.sql("SELECT id FROM dropped_{t}"), vec![])
        .await
        .unwrap();
    assert!(rows.is_empty());
    // A task cancelled in the middle of its transaction.
    let db = target.db.clone();
    let insert = target.sql("INSERT INTO dropped_{t} (id) VALUES (?)");
    let task = tokio::spawn(async move {
        let mut tx = db.begin(TransactionOptions::default()).await.unwrap();
        tx.execute(&insert, vec![Value::Int(2)]).await.unwrap();
        std::future::pending::<()>().await;
    });
    // Wait until the insert is done (the task then only waits), then cancel it.
    for _ in 0..1000 {
        if target.db.stats().in_use == 1 {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    task.abort();
    let _ = task.await;
    let rows = target
        .db
        .fetch_all(&target.sql("SELECT id FROM dropped_{t}"), vec![])
        .await
        .unwrap();
    assert!(
        rows.is_empty(),
        "the cancelled transaction's insert is gone"
    );
    target.run("DROP TABLE dropped_{t}").await;
}

async fn pool_exhaustion_is_a_timeout(target: Target) {
    let held = target
        .db
        .begin(TransactionOptions {
            read_only: true,
            isolation: None,
        })
        .await
        .unwrap();
    let error = target
        .db
        .fetch_all(&target.sql("SELECT 1"), vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(error, DataError::PoolTimeout { size: 1, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("pool_size"), "{error}");
    assert_eq!(error.class(), ErrorClass::Operational);
    assert_eq!(target.db.stats().timeouts, 1);
    drop(held);
    target
        .db
        .fetch_all(&target.sql("SELECT 1"), vec![])
        .await
        .unwrap();
}

async fn streams(target: Target) {
    target.run("DROP TABLE IF EXISTS stream_{t}").await;
    target
        .run("CREATE TABLE stream_{t} (id INTEGER PRIMARY KEY)")
        .await;
    let values = (1..=250).map(|id| vec![Value::Int(id)]).collect();
    target
        .db
        .execute_many(
            &target.sql("INSERT INTO stream_{t} (id) VALUES (?)"),
            values,
        )
        .await
        .unwrap();
    let mut receiver = target.db.stream(
        target.sql("SELECT id FROM stream_{t} ORDER BY id"),
        vec![],
        100,
    );
    let mut sizes = Vec::new();
    let mut last = Value::Null;
    while let Some(batch) = receiver.recv().await {
        let batch = batch.unwrap();
        sizes.push(batch.len());
        last = batch.last().unwrap().get(0).unwrap().clone();
    }
    assert_eq!(sizes, vec![100, 100, 50]);
    assert_eq!(last, Value::Int(250));
    // A receiver dropped early gives the connection back.
    let receiver = target
        .db
        .stream(target.sql("SELECT id FROM stream_{t}"), vec![], 10);
    drop(receiver);
    target
        .db
        .fetch_all(&target.sql("SELECT 1"), vec![])
        .await
        .unwrap();
    target.run("DROP TABLE stream_{t}").await;
}

fn one_connection(config: &mut PoolConfig) {
    config.pool_size = 1;
    config.min_idle = 0;
    // Also the first connect's deadline: short enough that the exhaustion test waits
    // little, long enough that opening a database on a loaded machine never hits it
    // (300 ms did, in CI: `Connect { source: PoolTimedOut }`).
    config.connection_timeout = Duration::from_secs(3);
}

macro_rules! suite {
    ($module:ident, $open:ident) => {
        mod $module {
            use super::*;

            #[tokio::test]
            async fn crud_and_errors() {
                crud($open(|_| {}).await, "crud").await;
            }

            #[tokio::test]
            async fn transactions_and_savepoints() {
                transactions($open(|_| {}).await).await;
            }

            #[tokio::test]
            async fn dropped_transactions_roll_back() {
                dropped_transaction_returns_its_connection($open(one_connection).await).await;
            }

            #[tokio::test]
            async fn pool_exhaustion() {
                pool_exhaustion_is_a_timeout($open(one_connection).await).await;
            }

            #[tokio::test]
            async fn streaming() {
                streams($open(|_| {}).await).await;
            }
        }
    };
}

#[cfg(feature = "sqlite")]
suite!(sqlite_suite, sqlite);
#[cfg(feature = "postgres")]
suite!(postgres_suite, postgres);
#[cfg(feature = "mysql")]
suite!(mysql_suite, mysql);

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_memory_keeps_one_connection() {
    let db = Database::connect(PoolConfig::new("sqlite::memory:"))
        .await
        .unwrap();
    db.execute("CREATE TABLE t (x)", vec![]).await.unwrap();
    db.execute("INSERT INTO t VALUES (?)", vec![Value::Bytes(vec![0, 1])])
        .await
        .unwrap();
    let rows = db
        .fetch_all("SELECT x, 1.5 AS f, 'a' AS s, NULL AS n FROM t", vec![])
        .await
        .unwrap();
    assert_eq!(json(&rows), r#"[{"x":"AAE=","f":1.5,"s":"a","n":null}]"#);
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_types_round_trip() {
    use chrono::{NaiveDate, TimeDelta};
    let target = postgres(|_| {}).await;
    let date = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let stamp = date.and_hms_micro_opt(1, 2, 3, 4).unwrap();
    let uuid = uuid::Uuid::from_u128(0x1234);
    let params = vec![
        Value::Int(i64::MAX),
        Value::Float(0.25),
        Value::Decimal("123456789012345678901234567890.000001".into()),
        Value::Text("héllo".into()),
        Value::Bytes(vec![0, 255]),
        Value::Bool(true),
        Value::Null,
        Value::TimestampTz(stamp.and_utc().fixed_offset()),
        Value::Timestamp(stamp),
        Value::Date(date),
        Value::Time(stamp.time()),
        Value::Interval(TimeDelta::seconds(90_061)),
        Value::Uuid(uuid),
        Value::Json(serde_json::json!({"a": [1, 2]})),
        Value::Array(vec![Value::Int(1), Value::Null, Value::Int(3)]),
        Value::Array(vec![Value::Text("x".into())]),
    ];
    let sql = "SELECT $1::int8 AS i, $2::float8 AS f, $3::numeric AS d, $4::text AS s, $5::bytea AS b, \
               $6::bool AS t, $7::int4 AS n, $8::timestamptz AS tz, $9::timestamp AS ts, $10::date AS dt, \
               $11::time AS tm, $12::interval AS iv, $13::uuid AS u, $14::jsonb AS j, $15::int4[] AS a, $16::text[] AS ta";
    let row = target
        .db
        .fetch_optional(sql, params.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.values(), &params[..]);
    let error = target.db.fetch_all("SELECT 1/0", vec![]).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Data);
    assert_eq!(error.code(), Some("22012"));
}

#[cfg(feature = "mysql")]
#[tokio::test]
async fn mysql_types_round_trip() {
    use chrono::NaiveDate;
    let target = mysql(|_| {}).await;
    let date = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let stamp = date.and_hms_micro_opt(1, 2, 3, 4).unwrap();
    target.run("DROP TABLE IF EXISTS types_my").await;
    target
        .run(
            "CREATE TABLE types_my (i BIGINT, u BIGINT UNSIGNED, f DOUBLE, d DECIMAL(40,6), s VARCHAR(20), \
             b VARBINARY(10), t BOOLEAN, n INT, ts DATETIME(6), tz TIMESTAMP(6) NULL, dt DATE, tm TIME(6))",
        )
        .await;
    let params = vec![
        Value::Int(i64::MIN),
        Value::UInt(u64::MAX),
        Value::Float(0.25),
        Value::Decimal("1234567890123456789012345678.000001".into()),
        Value::Text("héllo".into()),
        Value::Bytes(vec![0, 255]),
        Value::Bool(true),
        Value::Null,
        Value::Timestamp(stamp),
        Value::TimestampTz(stamp.and_utc().fixed_offset()),
        Value::Date(date),
        Value::Time(stamp.time()),
    ];
    target
        .db
        .execute(
            "INSERT INTO types_my VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params.clone(),
        )
        .await
        .unwrap();
    let row = target
        .db
        .fetch_optional("SELECT * FROM types_my", vec![])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.values(), &params[..]);
    target.run("DROP TABLE types_my").await;
}

#[tokio::test]
async fn unreachable_servers_fail_at_connect_naming_the_address() {
    #[cfg(feature = "postgres")]
    {
        let mut config = PoolConfig::new("postgres://postgres@127.0.0.1:1/test");
        config.connection_timeout = Duration::from_secs(2);
        let error = Database::connect(config).await.unwrap_err();
        assert!(
            error.to_string().contains("PostgreSQL at 127.0.0.1:1"),
            "{error}"
        );
    }
    #[cfg(feature = "mysql")]
    {
        let mut config = PoolConfig::new("mysql://root@127.0.0.1:1/test");
        config.connection_timeout = Duration::from_secs(2);
        let error = Database::connect(config).await.unwrap_err();
        assert!(
            error.to_string().contains("MySQL at 127.0.0.1:1"),
            "{error}"
        );
    }
    let error = Database::connect(PoolConfig::new("nosuch://x"))
        .await
        .unwrap_err();
    assert!(matches!(error, DataError::Config(_)), "{error}");
}
