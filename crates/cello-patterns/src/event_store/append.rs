//! PostgreSQL's append in one statement: the position counter's bump and the events'
//! insert as one `WITH ... INSERT ... SELECT`, one round trip in autocommit instead of
//! BEGIN, bump, insert(s) and COMMIT (four). The statement is atomic on its own: if
//! the insert fails (the primary key (stream, version) of a concurrent append), the
//! bump is undone with it, so positions stay gap-free; the counter row stays locked
//! until the statement commits, so appends still commit in position order.
//!
//! Used for a new stream and for an exact expected version (the guard is in the bump's
//! `WHERE`: no bump, no insert, zero rows); `Expected::Any` and stores with an outbox
//! take the transaction, which reads the version under the counter's lock. The casts
//! are there because parameters are sent untyped: in a `VALUES` list they would be text.

use cello_data::{BackendKind, ErrorClass, Value};

use super::{EventStore, Expected, NewEvent, RecordedEvent, COLUMNS};
use crate::error::PatternsError;
use crate::sql::{int, now};

impl EventStore {
    /// Whether [`EventStore::append_in_one_statement`] serves this append.
    pub(super) fn appends_in_one_statement(&self, expected: Expected) -> bool {
        self.db.backend() == BackendKind::Postgres
            && self.outbox.is_none()
            && matches!(expected, Expected::NoStream | Expected::Exact(_))
    }

    pub(super) async fn append_in_one_statement(
        &self,
        stream: &str,
        expected: Expected,
        events: Vec<NewEvent>,
    ) -> Result<Vec<RecordedEvent>, PatternsError> {
        let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
        let current = match expected {
            Expected::Exact(version) => version,
            _ => 0,
        };
        let recorded_at = now();
        let mut params = vec![Value::Int(count)];
        let guard = if let Expected::Exact(version) = expected {
            params.push(Value::Text(stream.to_owned()));
            params.push(Value::Int(version));
            " AND (SELECT COALESCE(MAX(version), 0) FROM {p}events WHERE stream_id = ?) = ?::bigint"
        } else {
            ""
        };
        params.extend([
            Value::Int(count),
            Value::Text(stream.to_owned()),
            Value::Int(current),
            Value::Text(recorded_at.clone()),
        ]);
        let mut rows = Vec::with_capacity(events.len());
        for (ordinal, event) in (1_i64..).zip(&events) {
            rows.push("(?::bigint, ?, ?, ?::bigint, ?, ?)");
            params.extend([
                Value::Int(ordinal),
                Value::Text(event.event_id.clone()),
                Value::Text(event.event_type.clone()),
                Value::Int(event.schema_version),
                Value::Text(event.data.to_string()),
                Value::Text(event.metadata.to_string()),
            ]);
        }
        let sql = format!(
            "WITH bumped AS (UPDATE {{p}}event_position SET position = position + ?::bigint WHERE id = 1{guard} RETURNING position) \
             INSERT INTO {{p}}events ({COLUMNS}) \
             SELECT bumped.position - ?::bigint + e.ordinal, ?, ?::bigint + e.ordinal, e.event_id, e.event_type, e.schema_version, e.data, e.metadata, ? \
             FROM bumped, (VALUES {}) AS e(ordinal, event_id, event_type, schema_version, data, metadata) \
             RETURNING position",
            rows.join(", ")
        );
        let inserted = match self.db.fetch_all(&self.sql(&sql), params).await {
            Ok(rows) => rows,
            Err(error) if error.class() == ErrorClass::UniqueViolation => {
                return Err(self.conflict(stream, expected).await);
            }
            Err(error) => return Err(error.into()),
        };
        if inserted.is_empty() {
            // The guard held the bump back: the stream is not at the expected version
            // (or the counter row is gone, which the transaction path reports).
            return Err(self.conflict(stream, expected).await);
        }
        let mut positions = inserted
            .iter()
            .map(|row| int(row, 0, "event position"))
            .collect::<Result<Vec<_>, _>>()?;
        positions.sort_unstable();
        Ok((1_i64..)
            .zip(positions)
            .zip(events)
            .map(|((ordinal, position), event)| {
                event.recorded(stream, current + ordinal, position, &recorded_at)
            })
            .collect())
    }

    async fn conflict(&self, stream: &str, expected: Expected) -> PatternsError {
        match self.stream_version(stream).await {
            Ok(actual) => PatternsError::Concurrency {
                stream: stream.to_owned(),
                expected: expected.describe(),
                actual,
            },
            Err(error) => error,
        }
    }
}
