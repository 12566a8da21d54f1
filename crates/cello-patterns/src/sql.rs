//! Portable SQL: placeholders per backend, the schema, and column decoding.

use cello_data::{BackendKind, Row, Value};

use crate::error::PatternsError;

/// `?` placeholders rewritten to `$1, $2, ...` for PostgreSQL; `{p}` replaced by the table
/// prefix.
pub(crate) fn statement(backend: BackendKind, prefix: &str, sql: &str) -> String {
    let sql = sql.replace("{p}", prefix);
    if backend != BackendKind::Postgres {
        return sql;
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut index = 0;
    for character in sql.chars() {
        if character == '?' {
            index += 1;
            out.push('$');
            out.push_str(&index.to_string());
        } else {
            out.push(character);
        }
    }
    out
}

/// The tables, created on first use. Types are the common subset of the three backends:
/// JSON is stored as text (payloads are opaque to the store), timestamps as RFC 3339 text.
pub(crate) fn schema(backend: BackendKind) -> Vec<String> {
    let text_key = if backend == BackendKind::MySql {
        "VARCHAR(255)"
    } else {
        "TEXT"
    };
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {{p}}events (\
             position BIGINT NOT NULL, stream_id {text_key} NOT NULL, version BIGINT NOT NULL, \
             event_id {text_key} NOT NULL, event_type {text_key} NOT NULL, schema_version INTEGER NOT NULL, \
             data TEXT NOT NULL, metadata TEXT NOT NULL, recorded_at {text_key} NOT NULL, \
             PRIMARY KEY (stream_id, version), UNIQUE (position))"
        ),
        "CREATE TABLE IF NOT EXISTS {p}event_position (id INTEGER NOT NULL PRIMARY KEY, position BIGINT NOT NULL)".into(),
        format!(
            "CREATE TABLE IF NOT EXISTS {{p}}snapshots (stream_id {text_key} NOT NULL PRIMARY KEY, \
             version BIGINT NOT NULL, state TEXT NOT NULL, recorded_at {text_key} NOT NULL)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {{p}}projections (name {text_key} NOT NULL PRIMARY KEY, position BIGINT NOT NULL)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {{p}}saga_instances (id {text_key} NOT NULL PRIMARY KEY, \
             saga_name {text_key} NOT NULL, status {text_key} NOT NULL, context TEXT NOT NULL, \
             error TEXT, created_at {text_key} NOT NULL, updated_at {text_key} NOT NULL, \
             lease_owner {text_key}, lease_until {text_key})"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {{p}}outbox (id {text_key} NOT NULL PRIMARY KEY, \
             destination {text_key} NOT NULL, message_key {text_key}, payload TEXT NOT NULL, \
             headers TEXT NOT NULL, seq BIGINT NOT NULL, created_at {text_key} NOT NULL, \
             published_at {text_key})"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {{p}}saga_steps (instance_id {text_key} NOT NULL, \
             step_index INTEGER NOT NULL, name {text_key} NOT NULL, status {text_key} NOT NULL, \
             attempts INTEGER NOT NULL, result TEXT, error TEXT, updated_at {text_key} NOT NULL, \
             PRIMARY KEY (instance_id, step_index))"
        ),
    ]
}

pub(crate) fn now() -> String {
    stamp(chrono::Utc::now())
}

/// RFC 3339 in UTC with microseconds: a fixed width, so stamps compare as text.
pub(crate) fn stamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub(crate) fn int(row: &Row, index: usize, what: &'static str) -> Result<i64, PatternsError> {
    match row.get(index) {
        Some(Value::Int(value)) => Ok(*value),
        Some(Value::UInt(value)) => {
            i64::try_from(*value).map_err(|_| corrupt(what, "out of range"))
        }
        Some(Value::Decimal(text)) => text.parse().map_err(|_| corrupt(what, "not an integer")),
        other => Err(corrupt(
            what,
            &format!("expected an integer, got {other:?}"),
        )),
    }
}

pub(crate) fn text(row: &Row, index: usize, what: &'static str) -> Result<String, PatternsError> {
    match row.get(index) {
        Some(Value::Text(value)) => Ok(value.clone()),
        Some(Value::Json(value)) => Ok(value.to_string()),
        Some(Value::Bytes(bytes)) => {
            String::from_utf8(bytes.clone()).map_err(|_| corrupt(what, "not UTF-8"))
        }
        other => Err(corrupt(what, &format!("expected text, got {other:?}"))),
    }
}

pub(crate) fn optional_text(
    row: &Row,
    index: usize,
    what: &'static str,
) -> Result<Option<String>, PatternsError> {
    match row.get(index) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => text(row, index, what).map(Some),
    }
}

pub(crate) fn json(
    row: &Row,
    index: usize,
    what: &'static str,
) -> Result<serde_json::Value, PatternsError> {
    let raw = text(row, index, what)?;
    serde_json::from_str(&raw).map_err(|error| corrupt(what, &error.to_string()))
}

fn corrupt(what: &'static str, message: &str) -> PatternsError {
    PatternsError::Corrupt {
        what,
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_placeholders_are_numbered() {
        let sql = statement(
            BackendKind::Postgres,
            "x_",
            "SELECT ? FROM {p}events WHERE a = ?",
        );
        assert_eq!(sql, "SELECT $1 FROM x_events WHERE a = $2");
        let sql = statement(BackendKind::Sqlite, "x_", "SELECT ? FROM {p}events");
        assert_eq!(sql, "SELECT ? FROM x_events");
    }
}
