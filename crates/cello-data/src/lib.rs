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

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!("cello-data needs at least one driver feature: sqlite, postgres or mysql");

mod backend;
mod config;
mod error;
mod pool;
mod row;
mod transaction;
mod value;

pub use config::{redact, BackendKind, PoolConfig};
pub use error::{DataError, ErrorClass};
pub use pool::{Database, PoolStats};
pub use row::{Columns, Row};
pub use transaction::{IsolationLevel, Transaction, TransactionOptions};
pub use value::Value;
