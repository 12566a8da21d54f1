//! SQLite: dynamic typing, so values decode by their storage class (`INTEGER`, `REAL`,
//! `TEXT`, `BLOB`), except that a column declared `BOOLEAN` reads back as a bool.
//! Parameters without a SQLite type are stored as text (dates and times in ISO 8601,
//! UUIDs hyphenated, decimals with their digits, dicts and lists as JSON).

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Row as _, Sqlite, TypeInfo, ValueRef};

use super::{decode_error, Backend, Query};
use crate::config::{BackendKind, PoolConfig};
use crate::error::DataError;
use crate::value::{iso_time, Value};

impl Backend for Sqlite {
    const KIND: BackendKind = BackendKind::Sqlite;

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }

    fn bind<'q>(
        query: Query<'q, Self>,
        value: Value,
        _index: usize,
        _expected: Option<&str>,
    ) -> Result<Query<'q, Self>, DataError> {
        Ok(match value {
            Value::Null => query.bind(None::<i64>),
            Value::Bool(flag) => query.bind(flag),
            Value::Int(number) => query.bind(number),
            Value::UInt(number) => match i64::try_from(number) {
                Ok(number) => query.bind(number),
                Err(_) => query.bind(number.to_string()),
            },
            Value::Float(number) => query.bind(number),
            Value::Decimal(text) | Value::Text(text) => query.bind(text),
            Value::Bytes(bytes) => query.bind(bytes),
            Value::Json(json) => query.bind(json.to_string()),
            Value::Date(date) => query.bind(date.format("%Y-%m-%d").to_string()),
            Value::Time(time) => query.bind(iso_time(&time)),
            Value::Timestamp(stamp) => {
                query.bind(format!("{} {}", stamp.date(), iso_time(&stamp.time())))
            }
            Value::TimestampTz(stamp) => query.bind(stamp.to_rfc3339()),
            Value::Interval(delta) => query.bind(delta.as_seconds_f64()),
            Value::Uuid(uuid) => query.bind(uuid.hyphenated().to_string()),
            array @ Value::Array(_) => query.bind(array.to_json_value().to_string()),
        })
    }

    fn decode(row: &Self::Row, index: usize) -> Result<Value, DataError> {
        let raw = row
            .try_get_raw(index)
            .map_err(|error| decode_error(row, index, error))?;
        if raw.is_null() {
            return Ok(Value::Null);
        }
        let storage = raw.type_info().name().to_owned();
        let declared = sqlx::Column::type_info(&sqlx::Row::columns(row)[index])
            .name()
            .to_ascii_uppercase();
        let value = match storage.as_str() {
            "INTEGER" | "BOOLEAN" | "INT8" | "NUMERIC" => {
                let number: i64 = row
                    .try_get(index)
                    .map_err(|error| decode_error(row, index, error))?;
                if declared == "BOOLEAN" || declared == "BOOL" {
                    Value::Bool(number != 0)
                } else {
                    Value::Int(number)
                }
            }
            "REAL" => Value::Float(
                row.try_get(index)
                    .map_err(|error| decode_error(row, index, error))?,
            ),
            "BLOB" => Value::Bytes(
                row.try_get(index)
                    .map_err(|error| decode_error(row, index, error))?,
            ),
            _ => Value::Text(
                row.try_get(index)
                    .map_err(|error| decode_error(row, index, error))?,
            ),
        };
        Ok(value)
    }
}

/// Connect options: WAL on (readers never wait for the writer), writers wait up to the
/// connection timeout for the write lock instead of failing at once, foreign keys on.
pub(crate) fn connect_options(config: &PoolConfig) -> Result<SqliteConnectOptions, DataError> {
    let options = SqliteConnectOptions::from_str(&config.url)
        .map_err(|error| DataError::Config(format!("bad SQLite URL {:?}: {error}", config.url)))?;
    Ok(options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(config.connection_timeout)
        .foreign_keys(true)
        .statement_cache_capacity(config.statement_cache_capacity))
}

/// An in-memory database lives in its connection: the pool must keep exactly one.
pub(crate) fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}
