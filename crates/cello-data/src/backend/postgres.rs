//! PostgreSQL: values decode by the column's type; parameters are sent with the type of
//! their Python value (`int` as `int8`, `str` as `text`, `dict` as `jsonb`, ...), so a
//! parameter compared with or stored into a column of another type may need a cast in
//! the SQL (`$1::date`). `None` is sent untyped and takes the type the server infers.

use std::str::FromStr;

use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use sqlx::postgres::types::{Oid, PgInterval};
use sqlx::postgres::{PgConnectOptions, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Row as _, Type, TypeInfo, ValueRef};
use uuid::Uuid;

use super::{decode_error, Backend, Query};
use crate::config::{BackendKind, PoolConfig};
use crate::error::DataError;
use crate::value::Value;

/// A NULL whose type the server infers from the statement (OID 0, "unspecified").
struct UntypedNull;

impl Type<Postgres> for UntypedNull {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(Oid(0))
    }
}

impl Encode<'_, Postgres> for UntypedNull {
    fn encode_by_ref(
        &self,
        _buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        Ok(sqlx::encode::IsNull::Yes)
    }
}

impl Backend for Postgres {
    const KIND: BackendKind = BackendKind::Postgres;
    const NEEDS_PARAMETER_TYPES: bool = true;

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }

    fn bind<'q>(
        query: Query<'q, Self>,
        value: Value,
        index: usize,
        expected: Option<&str>,
    ) -> Result<Query<'q, Self>, DataError> {
        match expected {
            Some(expected) => bind_as(query, value, expected, index),
            None => bind_natural(query, value, index),
        }
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

/// A value sent with the type of its own kind (when the server's types are unknown, or
/// for types this module does not convert to, such as enums: their binary form is text).
fn bind_natural(
    query: Query<'_, Postgres>,
    value: Value,
    index: usize,
) -> Result<Query<'_, Postgres>, DataError> {
    Ok(match value {
        Value::Null => query.bind(UntypedNull),
        Value::Bool(flag) => query.bind(flag),
        Value::Int(number) => query.bind(number),
        Value::UInt(number) => match i64::try_from(number) {
            Ok(number) => query.bind(number),
            Err(_) => query.bind(Numeric::parse(&number.to_string(), index)?),
        },
        Value::Float(number) => query.bind(number),
        Value::Decimal(text) => query.bind(Numeric::parse(&text, index)?),
        Value::Text(text) => query.bind(text),
        Value::Bytes(bytes) => query.bind(bytes),
        Value::Json(json) => query.bind(sqlx::types::Json(json)),
        Value::Date(date) => query.bind(date),
        Value::Time(time) => query.bind(time),
        Value::Timestamp(stamp) => query.bind(stamp),
        Value::TimestampTz(stamp) => query.bind(stamp.with_timezone(&Utc)),
        Value::Interval(delta) => query.bind(pg_interval(delta, index)?),
        Value::Uuid(uuid) => query.bind(uuid),
        Value::Array(items) => bind_array(query, items, index)?,
    })
}

fn pg_interval(delta: TimeDelta, index: usize) -> Result<PgInterval, DataError> {
    PgInterval::try_from(delta).map_err(|error| DataError::Parameter {
        index,
        message: error.to_string(),
    })
}

fn mismatch(value: &Value, expected: &str, index: usize) -> DataError {
    DataError::Parameter {
        index,
        message: format!(
            "the statement expects {} here, and got {}; pass a value of that type or cast in the SQL ($n::type)",
            expected.to_ascii_lowercase(),
            kind_name(value)
        ),
    }
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "None",
        Value::Bool(_) => "a bool",
        Value::Int(_) | Value::UInt(_) => "an int",
        Value::Float(_) => "a float",
        Value::Decimal(_) => "a Decimal",
        Value::Text(_) => "a str",
        Value::Bytes(_) => "bytes",
        Value::Json(_) => "a dict",
        Value::Date(_) => "a date",
        Value::Time(_) => "a time",
        Value::Timestamp(_) => "a naive datetime",
        Value::TimestampTz(_) => "an aware datetime",
        Value::Interval(_) => "a timedelta",
        Value::Uuid(_) => "a UUID",
        Value::Array(_) => "a list",
    }
}

/// Converts `value` to exactly the type the server inferred for its placeholder (the
/// binary protocol takes nothing else), as asyncpg does: ints fit the column's width,
/// ISO strings fill date, time and UUID parameters, naive datetimes given to a
/// `timestamptz` are taken as UTC, any JSON-able value fills a json parameter.
fn coerce(value: Value, expected: &str, index: usize) -> Result<Value, DataError> {
    let wrong = |value: &Value| mismatch(value, expected, index);
    let parse = |text: &str, what: &str| DataError::Parameter {
        index,
        message: format!("{text:?} is not a valid {what}"),
    };
    Ok(match (expected, value) {
        (_, Value::Null) => Value::Null,
        ("INT2" | "INT4" | "INT8" | "OID", Value::UInt(number)) => {
            Value::Int(i64::try_from(number).map_err(|_| out_of_range(expected, index))?)
        }
        ("INT2" | "INT4" | "INT8" | "OID", value @ Value::Int(_)) => value,
        // Path and query parameters arrive as text: `WHERE id = $1` with "42" works, as
        // the same literal would in SQL.
        ("INT2" | "INT4" | "INT8" | "OID", Value::Text(text)) => {
            Value::Int(text.trim().parse().map_err(|_| parse(&text, "integer"))?)
        }
        ("FLOAT4" | "FLOAT8", Value::Text(text)) => {
            Value::Float(text.trim().parse().map_err(|_| parse(&text, "number"))?)
        }
        ("BOOL", Value::Text(text)) => {
            Value::Bool(match text.trim().to_ascii_lowercase().as_str() {
                "t" | "true" | "1" | "yes" | "on" => true,
                "f" | "false" | "0" | "no" | "off" => false,
                _ => return Err(parse(&text, "boolean")),
            })
        }
        ("FLOAT4" | "FLOAT8", Value::Int(number)) => Value::Float(number as f64),
        ("FLOAT4" | "FLOAT8", value @ Value::Float(_)) => value,
        ("NUMERIC", Value::Int(number)) => Value::Decimal(number.to_string()),
        ("NUMERIC", Value::UInt(number)) => Value::Decimal(number.to_string()),
        ("NUMERIC", Value::Float(number)) => Value::Decimal(number.to_string()),
        ("NUMERIC", Value::Decimal(text) | Value::Text(text)) => Value::Decimal(text),
        ("TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CITEXT", value) => match value {
            Value::Text(text) | Value::Decimal(text) => Value::Text(text),
            Value::Uuid(uuid) => Value::Text(uuid.hyphenated().to_string()),
            Value::Int(number) => Value::Text(number.to_string()),
            other => return Err(wrong(&other)),
        },
        ("DATE", Value::Text(text)) => {
            Value::Date(NaiveDate::from_str(&text).map_err(|_| parse(&text, "date"))?)
        }
        ("TIME", Value::Text(text)) => {
            Value::Time(NaiveTime::from_str(&text).map_err(|_| parse(&text, "time"))?)
        }
        ("TIMESTAMP", Value::Text(text)) => Value::Timestamp(
            NaiveDateTime::from_str(&text.replace(' ', "T"))
                .map_err(|_| parse(&text, "timestamp"))?,
        ),
        ("TIMESTAMP", Value::TimestampTz(stamp)) => Value::Timestamp(stamp.naive_utc()),
        ("TIMESTAMPTZ", Value::Text(text)) => Value::TimestampTz(
            DateTime::parse_from_rfc3339(&text.replace(' ', "T"))
                .map_err(|_| parse(&text, "timestamp with time zone"))?,
        ),
        ("TIMESTAMPTZ", Value::Timestamp(stamp)) => {
            Value::TimestampTz(stamp.and_utc().fixed_offset())
        }
        ("UUID", Value::Text(text)) => {
            Value::Uuid(Uuid::parse_str(&text).map_err(|_| parse(&text, "UUID"))?)
        }
        ("JSON" | "JSONB", Value::Text(text)) => Value::Json(
            serde_json::from_str(&text)
                .map_err(|error| parse(&text, &format!("JSON document ({error})")))?,
        ),
        ("JSON" | "JSONB", value @ Value::Json(_)) => value,
        ("JSON" | "JSONB", value) => Value::Json(value.to_json_value()),
        (array, Value::Array(items)) if array.ends_with("[]") => {
            let element = &array[..array.len() - 2];
            Value::Array(
                items
                    .into_iter()
                    .map(|item| coerce(item, element, index))
                    .collect::<Result<_, _>>()?,
            )
        }
        (_, value) => value,
    })
}

fn out_of_range(expected: &str, index: usize) -> DataError {
    DataError::Parameter {
        index,
        message: format!(
            "the int is out of range for {}",
            expected.to_ascii_lowercase()
        ),
    }
}

fn bind_as<'q>(
    query: Query<'q, Postgres>,
    value: Value,
    expected: &str,
    index: usize,
) -> Result<Query<'q, Postgres>, DataError> {
    let value = coerce(value, expected, index)?;
    let narrow = |number: i64| out_of_range(expected, index).with_value(number);
    Ok(match (expected, value) {
        ("INT2", Value::Int(number)) => {
            query.bind(i16::try_from(number).map_err(|_| narrow(number))?)
        }
        ("INT4", Value::Int(number)) => {
            query.bind(i32::try_from(number).map_err(|_| narrow(number))?)
        }
        ("OID", Value::Int(number)) => {
            query.bind(Oid(u32::try_from(number).map_err(|_| narrow(number))?))
        }
        #[allow(clippy::cast_possible_truncation)]
        ("FLOAT4", Value::Float(number)) => query.bind(number as f32),
        (array, Value::Array(items)) if array.ends_with("[]") => {
            bind_typed_array(query, items, &array[..array.len() - 2], index)?
        }
        (expected, value) => {
            let fits = matches!(
                (expected, &value),
                (_, Value::Null)
                    | ("INT8", Value::Int(_))
                    | ("FLOAT8", Value::Float(_))
                    | ("NUMERIC", Value::Decimal(_))
                    | ("BOOL", Value::Bool(_))
                    | (
                        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CITEXT",
                        Value::Text(_)
                    )
                    | ("BYTEA", Value::Bytes(_))
                    | ("DATE", Value::Date(_))
                    | ("TIME", Value::Time(_))
                    | ("TIMESTAMP", Value::Timestamp(_))
                    | ("TIMESTAMPTZ", Value::TimestampTz(_))
                    | ("INTERVAL", Value::Interval(_))
                    | ("UUID", Value::Uuid(_))
                    | ("JSON" | "JSONB", Value::Json(_))
            );
            let known = matches!(
                expected,
                "INT2"
                    | "INT4"
                    | "INT8"
                    | "OID"
                    | "FLOAT4"
                    | "FLOAT8"
                    | "NUMERIC"
                    | "BOOL"
                    | "TEXT"
                    | "VARCHAR"
                    | "BPCHAR"
                    | "NAME"
                    | "CITEXT"
                    | "BYTEA"
                    | "DATE"
                    | "TIME"
                    | "TIMESTAMP"
                    | "TIMESTAMPTZ"
                    | "INTERVAL"
                    | "UUID"
                    | "JSON"
                    | "JSONB"
            );
            if known && !fits {
                return Err(mismatch(&value, expected, index));
            }
            if expected == "JSON" {
                // `json` (not jsonb) has no version byte in its binary form.
                if let Value::Json(json) = value {
                    return Ok(query.bind(JsonText(json.to_string())));
                }
            }
            bind_natural(query, value, index)?
        }
    })
}

/// The binary form of a `json` parameter: the document's text.
struct JsonText(String);

impl Type<Postgres> for JsonText {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("json")
    }
}

impl Encode<'_, Postgres> for JsonText {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        buf.extend_from_slice(self.0.as_bytes());
        Ok(sqlx::encode::IsNull::No)
    }
}

trait WithValue {
    fn with_value(self, number: i64) -> Self;
}

impl WithValue for DataError {
    fn with_value(self, number: i64) -> Self {
        match self {
            DataError::Parameter { index, message } => DataError::Parameter {
                index,
                message: format!("{message}: {number}"),
            },
            other => other,
        }
    }
}

/// An array parameter in the element type the server expects.
fn bind_typed_array<'q>(
    query: Query<'q, Postgres>,
    items: Vec<Value>,
    element: &str,
    index: usize,
) -> Result<Query<'q, Postgres>, DataError> {
    macro_rules! typed {
        ($convert:expr) => {{
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(match item {
                    Value::Null => None,
                    other => Some($convert(other)?),
                });
            }
            query.bind(out)
        }};
    }
    let wrong = |value: Value| Err::<std::convert::Infallible, _>(mismatch(&value, element, index));
    Ok(match element {
        "INT2" => typed!(|value| match value {
            Value::Int(n) => i16::try_from(n).map_err(|_| out_of_range(element, index)),
            other => wrong(other).map(|never| match never {}),
        }),
        "INT4" => typed!(|value| match value {
            Value::Int(n) => i32::try_from(n).map_err(|_| out_of_range(element, index)),
            other => wrong(other).map(|never| match never {}),
        }),
        "INT8" => typed!(|value| match value {
            Value::Int(n) => Ok(n),
            other => wrong(other).map(|never| match never {}),
        }),
        "FLOAT8" => typed!(|value| match value {
            Value::Float(n) => Ok(n),
            other => wrong(other).map(|never| match never {}),
        }),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => typed!(|value| match value {
            Value::Text(text) => Ok(text),
            other => wrong(other).map(|never| match never {}),
        }),
        _ => bind_array(query, items, index)?,
    })
}

type Decoded = Result<Value, sqlx::error::BoxDynError>;

fn get<'r, T: Decode<'r, Postgres>>(raw: PgValueRef<'r>) -> Result<T, sqlx::error::BoxDynError> {
    T::decode(raw)
}

fn decode_value(raw: PgValueRef<'_>, name: &str) -> Decoded {
    Ok(match name {
        "BOOL" => Value::Bool(get(raw)?),
        "INT2" => Value::Int(get::<i16>(raw)?.into()),
        "INT4" => Value::Int(get::<i32>(raw)?.into()),
        "INT8" => Value::Int(get(raw)?),
        "OID" => Value::Int(get::<Oid>(raw)?.0.into()),
        "FLOAT4" => Value::Float(get::<f32>(raw)?.into()),
        "FLOAT8" => Value::Float(get(raw)?),
        "NUMERIC" => Value::Decimal(match raw.format() {
            sqlx::postgres::PgValueFormat::Binary => super::numeric::to_text(raw.as_bytes()?)?,
            sqlx::postgres::PgValueFormat::Text => raw.as_str()?.to_owned(),
        }),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CITEXT" | "UNKNOWN" => Value::Text(get(raw)?),
        "BYTEA" => Value::Bytes(get(raw)?),
        "DATE" => Value::Date(get(raw)?),
        "TIME" => Value::Time(get(raw)?),
        "TIMESTAMP" => Value::Timestamp(get(raw)?),
        "TIMESTAMPTZ" => Value::TimestampTz(get::<DateTime<Utc>>(raw)?.fixed_offset()),
        "INTERVAL" => Value::Interval(interval(get(raw)?)),
        "UUID" => Value::Uuid(get(raw)?),
        "JSON" | "JSONB" => Value::Json(get(raw)?),
        "BOOL[]" => array(get::<Vec<Option<bool>>>(raw)?, Value::Bool),
        "INT2[]" => array(get::<Vec<Option<i16>>>(raw)?, |n| Value::Int(n.into())),
        "INT4[]" => array(get::<Vec<Option<i32>>>(raw)?, |n| Value::Int(n.into())),
        "INT8[]" => array(get::<Vec<Option<i64>>>(raw)?, Value::Int),
        "FLOAT4[]" => array(get::<Vec<Option<f32>>>(raw)?, |n| Value::Float(n.into())),
        "FLOAT8[]" => array(get::<Vec<Option<f64>>>(raw)?, Value::Float),
        "NUMERIC[]" => array(get::<Vec<Option<BigDecimal>>>(raw)?, |n| {
            Value::Decimal(n.to_string())
        }),
        "TEXT[]" | "VARCHAR[]" | "BPCHAR[]" | "NAME[]" => {
            array(get::<Vec<Option<String>>>(raw)?, Value::Text)
        }
        "BYTEA[]" => array(get::<Vec<Option<Vec<u8>>>>(raw)?, Value::Bytes),
        "UUID[]" => array(get::<Vec<Option<Uuid>>>(raw)?, Value::Uuid),
        "DATE[]" => array(get::<Vec<Option<NaiveDate>>>(raw)?, Value::Date),
        "TIME[]" => array(get::<Vec<Option<NaiveTime>>>(raw)?, Value::Time),
        "TIMESTAMP[]" => array(get::<Vec<Option<NaiveDateTime>>>(raw)?, Value::Timestamp),
        "TIMESTAMPTZ[]" => array(get::<Vec<Option<DateTime<Utc>>>>(raw)?, |t| {
            Value::TimestampTz(t.fixed_offset())
        }),
        "JSON[]" | "JSONB[]" => array(get::<Vec<Option<serde_json::Value>>>(raw)?, Value::Json),
        // Enums, domains over text, and anything else whose binary form is its text.
        _ => match raw.as_str() {
            Ok(text) => Value::Text(text.to_owned()),
            Err(_) => Value::Bytes(raw.as_bytes()?.to_vec()),
        },
    })
}

fn array<T>(items: Vec<Option<T>>, wrap: impl Fn(T) -> Value) -> Value {
    Value::Array(
        items
            .into_iter()
            .map(|item| item.map_or(Value::Null, &wrap))
            .collect(),
    )
}

/// Months count as 30 days, as asyncpg and Python's `timedelta` (which has no months) do.
fn interval(interval: PgInterval) -> TimeDelta {
    TimeDelta::days(i64::from(interval.months) * 30 + i64::from(interval.days))
        + TimeDelta::microseconds(interval.microseconds)
}

fn decimal(text: &str, index: usize) -> Result<BigDecimal, DataError> {
    BigDecimal::from_str(text).map_err(|error| DataError::Parameter {
        index,
        message: format!("{text:?} is not a decimal number: {error}"),
    })
}

/// A `NUMERIC` parameter sent with the scale of its text (`1.50` stays `1.50`).
struct Numeric(Vec<u8>);

impl Numeric {
    fn parse(text: &str, index: usize) -> Result<Self, DataError> {
        super::numeric::from_text(text)
            .map(Self)
            .map_err(|message| DataError::Parameter { index, message })
    }
}

impl Type<Postgres> for Numeric {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("numeric")
    }
}

impl Encode<'_, Postgres> for Numeric {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        buf.extend_from_slice(&self.0);
        Ok(sqlx::encode::IsNull::No)
    }
}

/// A list parameter becomes an array of the type of its items (all of one type; NULLs
/// allowed). An empty list is sent as `text[]`: cast it (`$1::int[]`) where that matters.
fn bind_array(
    query: Query<'_, Postgres>,
    items: Vec<Value>,
    index: usize,
) -> Result<Query<'_, Postgres>, DataError> {
    let kind = items.iter().find(|item| **item != Value::Null);
    let mixed = || DataError::Parameter {
        index,
        message:
            "a list parameter becomes a PostgreSQL array, whose items must all be of one type \
                  (int, float, str, bool, bytes, UUID, Decimal, date, datetime) or None"
                .into(),
    };
    macro_rules! collect {
        ($pattern:ident, $convert:expr) => {{
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(match item {
                    Value::Null => None,
                    Value::$pattern(inner) => Some($convert(inner)?),
                    _ => return Err(mixed()),
                });
            }
            query.bind(out)
        }};
    }
    Ok(match kind {
        None | Some(Value::Text(_)) => collect!(Text, Ok::<_, DataError>),
        Some(Value::Int(_)) => collect!(Int, Ok::<_, DataError>),
        Some(Value::Float(_)) => collect!(Float, Ok::<_, DataError>),
        Some(Value::Bool(_)) => collect!(Bool, Ok::<_, DataError>),
        Some(Value::Bytes(_)) => collect!(Bytes, Ok::<_, DataError>),
        Some(Value::Uuid(_)) => collect!(Uuid, Ok::<_, DataError>),
        Some(Value::Date(_)) => collect!(Date, Ok::<_, DataError>),
        Some(Value::Timestamp(_)) => collect!(Timestamp, Ok::<_, DataError>),
        Some(Value::TimestampTz(_)) => collect!(TimestampTz, |stamp: DateTime<
            chrono::FixedOffset,
        >| Ok::<_, DataError>(
            stamp.with_timezone(&Utc)
        )),
        Some(Value::Decimal(_)) => collect!(Decimal, |text: String| decimal(&text, index)),
        Some(Value::Json(_)) => collect!(Json, |json| Ok::<_, DataError>(sqlx::types::Json(json))),
        Some(_) => return Err(mixed()),
    })
}

pub(crate) fn connect_options(config: &PoolConfig) -> Result<PgConnectOptions, DataError> {
    let mut options = PgConnectOptions::from_str(&config.url).map_err(|error| {
        DataError::Config(format!(
            "bad PostgreSQL URL {:?}: {error}",
            crate::config::redact(&config.url)
        ))
    })?;
    if let Some(name) = &config.application_name {
        options = options.application_name(name);
    }
    Ok(options.statement_cache_capacity(config.statement_cache_capacity))
}
