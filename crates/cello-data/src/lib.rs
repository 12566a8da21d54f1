//! Cello's data layer, without Python: connection pools for SQLite, PostgreSQL and MySQL
//! (through sqlx; one cargo feature per driver), transactions with savepoints, and rows
//! as owned [`Value`]s that encode straight to JSON.
//!
//! Statements take their parameters as a `Vec<Value>` and use each backend's own
//! placeholders: `$1, $2` on PostgreSQL, `?` on SQLite and MySQL.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cello_data::DataError> {
//! use cello_data::{Database, PoolConfig, TransactionOptions, Value};
//!
//! let db = Database::connect(PoolConfig::new("sqlite::memory:")).await?;
//! db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)", vec![]).await?;
//! let mut tx = db.begin(TransactionOptions::default()).await?;
//! tx.execute("INSERT INTO users (name) VALUES (?)", vec![Value::Text("ada".into())]).await?;
//! tx.commit().await?;
//! let rows = db.fetch_all("SELECT id, name FROM users", vec![]).await?;
//! let mut json = Vec::new();
//! cello_data::Row::write_json_array(&rows, &mut json);
//! assert_eq!(json, br#"[{"id":1,"name":"ada"}]"#);
//! # Ok(()) }
//! ```

// A Redis-only build compiles the SQL error and config helpers without using them.
#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code)
)]

#[cfg(not(any(
    feature = "sqlite",
    feature = "postgres",
    feature = "mysql",
    feature = "redis"
)))]
compile_error!("cello-data needs at least one driver feature: sqlite, postgres, mysql or redis");

#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod backend;
mod config;
mod error;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod pool;
#[cfg(feature = "redis")]
mod redis_client;
mod row;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod transaction;
mod value;

pub use config::{redact, BackendKind, PoolConfig};
pub use error::{DataError, ErrorClass};
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub use pool::{Database, PoolStats};
#[cfg(feature = "redis")]
pub use redis_client::{PubSubMessage, RedisClient, RedisConfig};
pub use row::{Columns, Row};
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub use transaction::{IsolationLevel, Transaction, TransactionOptions};
pub use value::Value;
