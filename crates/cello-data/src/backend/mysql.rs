//! MySQL and MariaDB: `?` placeholders only. Values decode by the column's type (a
//! `TINYINT(1)` is a bool, `BIGINT UNSIGNED` keeps values above `i64::MAX`); the server
//! converts parameters freely, so UUIDs and intervals are sent as text and dicts and
//! lists as JSON text. The session runs in UTC, so `TIMESTAMP` columns read back as
//! UTC datetimes.

use std::str::FromStr;

use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use sqlx::mysql::types::MySqlTime;
use sqlx::mysql::{MySqlConnectOptions, MySqlValueRef};
use sqlx::{Decode, MySql, Row as _, TypeInfo, ValueRef};

use super::{decode_error, Backend, Query};
use crate::config::{BackendKind, PoolConfig};
use crate::error::DataError;
use crate::value::Value;

impl Backend for MySql {
    const KIND: BackendKind = BackendKind::MySql;

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }

    fn bind<'q>(
        query: Query<'q, Self>,
        value: Value,
        index: usize,
        _expected: Option<&str>,
    ) -> Result<Query<'q, Self>, DataError> {
        Ok(match value {
            Value::Null => query.bind(None::<String>),
            Value::Bool(flag) => query.bind(flag),
            Value::Int(number) => query.bind(number),
            Value::UInt(number) => query.bind(number),
            Value::Float(number) => query.bind(number),
            Value::Decimal(text) => {
                query.bind(
                    BigDecimal::from_str(&text).map_err(|error| DataError::Parameter {
                        index,
                        message: format!("{text:?} is not a decimal number: {error}"),
                    })?,
                )
            }
            Value::Text(text) => query.bind(text),
            Value::Bytes(bytes) => query.bind(bytes),
            Value::Json(json) => query.bind(json.to_string()),
            Value::Date(date) => query.bind(date),
            Value::Time(time) => query.bind(time),
            Value::Timestamp(stamp) => query.bind(stamp),
            Value::TimestampTz(stamp) => query.bind(stamp.with_timezone(&Utc)),
            Value::Interval(delta) => query.bind(mysql_time_text(delta)),
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
        let type_info = raw.type_info().into_owned();
        decode_value(raw, type_info.name()).map_err(|error| decode_error(row, index, error))
    }
}

fn get<'r, T: Decode<'r, MySql>>(raw: MySqlValueRef<'r>) -> Result<T, sqlx::error::BoxDynError> {
    T::decode(raw)
}

fn decode_value(raw: MySqlValueRef<'_>, name: &str) -> Result<Value, sqlx::error::BoxDynError> {
    Ok(match name {
        "BOOLEAN" => Value::Bool(get(raw)?),
        "TINYINT" | "SMALLINT" | "INT" | "MEDIUMINT" | "BIGINT" | "YEAR" => Value::Int(get(raw)?),
        "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "INT UNSIGNED" | "MEDIUMINT UNSIGNED"
        | "BIGINT UNSIGNED" => {
            let number: u64 = get(raw)?;
            i64::try_from(number).map_or(Value::UInt(number), Value::Int)
        }
        "FLOAT" => Value::Float(get::<f32>(raw)?.into()),
        "DOUBLE" => Value::Float(get(raw)?),
        "DECIMAL" => Value::Decimal(get::<BigDecimal>(raw)?.to_string()),
        "DATE" => Value::Date(get::<NaiveDate>(raw)?),
        "DATETIME" => Value::Timestamp(get::<NaiveDateTime>(raw)?),
        "TIMESTAMP" => Value::TimestampTz(get::<DateTime<Utc>>(raw)?.fixed_offset()),
        "TIME" => {
            let time: MySqlTime = get(raw)?;
            match NaiveTime::try_from(time) {
                Ok(time) => Value::Time(time),
                // Negative or beyond 24 hours: a duration, which is what TIME also means.
                Err(_) => Value::Interval(TimeDelta::from(time)),
            }
        }
        "JSON" => Value::Json(serde_json::from_str(&get::<String>(raw)?)?),
        "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" | "BIT"
        | "GEOMETRY" => Value::Bytes(get(raw)?),
        _ => Value::Text(get(raw)?),
    })
}

/// `[-]HHH:MM:SS[.ffffff]`, the text MySQL reads into a `TIME`.
fn mysql_time_text(delta: TimeDelta) -> String {
    let sign = if delta < TimeDelta::zero() { "-" } else { "" };
    let delta = delta.abs();
    let seconds = delta.num_seconds();
    let micros = delta.subsec_nanos() / 1000;
    let base = format!(
        "{sign}{}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    );
    if micros == 0 {
        base
    } else {
        format!("{base}.{micros:06}")
    }
}

pub(crate) fn connect_options(config: &PoolConfig) -> Result<MySqlConnectOptions, DataError> {
    let options = MySqlConnectOptions::from_str(&config.url).map_err(|error| {
        DataError::Config(format!(
            "bad MySQL URL {:?}: {error}",
            crate::config::redact(&config.url)
        ))
    })?;
    Ok(options
        .timezone(Some(String::from("+00:00")))
        .statement_cache_capacity(config.statement_cache_capacity))
}

#[cfg(test)]
mod tests {
    #[test]
    fn intervals_become_time_text() {
        assert_eq!(
            super::mysql_time_text(chrono::TimeDelta::seconds(90_061)),
            "25:01:01"
        );
        assert_eq!(
            super::mysql_time_text(chrono::TimeDelta::milliseconds(-1500)),
            "-0:00:01.500000"
        );
    }
}
