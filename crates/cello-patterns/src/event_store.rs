//! [`EventStore`]: streams of events with optimistic concurrency, a gap-free global
//! position, snapshots and projection positions.

use cello_data::{BackendKind, Database, ErrorClass, Row, TransactionOptions, Value};
use serde_json::json;
use tokio::sync::OnceCell;

use crate::error::PatternsError;
use crate::sql::{int, json, now, schema, statement, text};

mod append;

/// The version an append expects its stream to be at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// Append whatever the stream's version.
    Any,
    /// The stream must not exist yet (a new aggregate).
    NoStream,
    /// The stream must be at exactly this version (the aggregate as it was loaded).
    Exact(i64),
}

impl Expected {
    fn describe(self) -> String {
        match self {
            Self::Any => "any version".into(),
            Self::NoStream => "no stream".into(),
            Self::Exact(version) => format!("version {version}"),
        }
    }

    fn admits(self, current: i64) -> bool {
        match self {
            Self::Any => true,
            Self::NoStream => current == 0,
            Self::Exact(version) => current == version,
        }
    }
}

/// An event to append: its id, type name, schema version, JSON payload and metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_id: String,
    pub event_type: String,
    pub schema_version: i64,
    pub data: serde_json::Value,
    pub metadata: serde_json::Value,
}

impl NewEvent {
    /// An event of schema version 1 with empty metadata and a fresh id.
    pub fn new(event_type: impl Into<String>, data: serde_json::Value) -> Self {
        Self {
            event_id: fresh_id(),
            event_type: event_type.into(),
            schema_version: 1,
            data,
            metadata: json!({}),
        }
    }
}

impl NewEvent {
    /// The event as stored in `stream` at `version` and global `position`.
    fn recorded(
        self,
        stream: &str,
        version: i64,
        position: i64,
        recorded_at: &str,
    ) -> RecordedEvent {
        RecordedEvent {
            position,
            stream_id: stream.to_owned(),
            version,
            event_id: self.event_id,
            event_type: self.event_type,
            schema_version: self.schema_version,
            data: self.data,
            metadata: self.metadata,
            recorded_at: recorded_at.to_owned(),
        }
    }
}

/// An id unique enough for events appended without one: time plus a process-wide counter.
fn fresh_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!(
        "{nanos:x}-{:x}-{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// The global position: 1, 2, 3, ... across all streams, without gaps.
    pub position: i64,
    pub stream_id: String,
    /// The version within the stream: 1, 2, 3, ...
    pub version: i64,
    pub event_id: String,
    pub event_type: String,
    pub schema_version: i64,
    pub data: serde_json::Value,
    pub metadata: serde_json::Value,
    /// RFC 3339, UTC.
    pub recorded_at: String,
}

impl RecordedEvent {
    /// The event as a JSON object (the binding hands it to Python this way).
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "position": self.position,
            "stream_id": self.stream_id,
            "version": self.version,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "schema_version": self.schema_version,
            "data": self.data,
            "metadata": self.metadata,
            "recorded_at": self.recorded_at,
        })
    }
}

/// A stored event with its payload and metadata still JSON text, for a caller that
/// decodes them itself (the Python binding decodes straight into Python objects).
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    pub position: i64,
    pub stream_id: String,
    pub version: i64,
    pub event_id: String,
    pub event_type: String,
    pub schema_version: i64,
    /// JSON text.
    pub data: String,
    /// JSON text.
    pub metadata: String,
    pub recorded_at: String,
}

impl RawEvent {
    fn from_row(row: &Row) -> Result<Self, PatternsError> {
        Ok(Self {
            position: int(row, 0, "event position")?,
            stream_id: text(row, 1, "event stream id")?,
            version: int(row, 2, "event version")?,
            event_id: text(row, 3, "event id")?,
            event_type: text(row, 4, "event type")?,
            schema_version: int(row, 5, "event schema version")?,
            data: text(row, 6, "event data")?,
            metadata: text(row, 7, "event metadata")?,
            recorded_at: text(row, 8, "event timestamp")?,
        })
    }

    /// The event with its JSON parsed.
    pub fn parse(self) -> Result<RecordedEvent, PatternsError> {
        let parse = |raw: &str, what: &'static str| {
            serde_json::from_str(raw).map_err(|error| PatternsError::Corrupt {
                what,
                message: error.to_string(),
            })
        };
        Ok(RecordedEvent {
            data: parse(&self.data, "event data")?,
            metadata: parse(&self.metadata, "event metadata")?,
            position: self.position,
            stream_id: self.stream_id,
            version: self.version,
            event_id: self.event_id,
            event_type: self.event_type,
            schema_version: self.schema_version,
            recorded_at: self.recorded_at,
        })
    }
}

/// The latest snapshot of a stream: its state as of `version`.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub stream_id: String,
    pub version: i64,
    pub state: serde_json::Value,
    pub recorded_at: String,
}

const COLUMNS: &str =
    "position, stream_id, version, event_id, event_type, schema_version, data, metadata, recorded_at";

/// The event store over one pool. Cloning shares the pool and the schema check.
#[derive(Debug, Clone)]
pub struct EventStore {
    db: Database,
    prefix: String,
    ready: std::sync::Arc<OnceCell<()>>,
    outbox: Option<String>,
}

impl EventStore {
    /// A store whose tables are named `<prefix>events`, `<prefix>snapshots`, ... (the
    /// default prefix elsewhere is `cello_`). Tables are created on first use.
    pub fn new(db: Database, prefix: impl Into<String>) -> Self {
        Self {
            db,
            prefix: prefix.into(),
            ready: std::sync::Arc::default(),
            outbox: None,
        }
    }

    /// The same store, also writing each appended event to the outbox table (in the
    /// append's transaction) for publishing to `destination`: a relay publishes the
    /// rows and marks them, so an event is published if and only if it was committed.
    #[must_use]
    pub fn with_outbox(mut self, destination: impl Into<String>) -> Self {
        self.outbox = Some(destination.into());
        self
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn sql(&self, sql: &str) -> String {
        statement(self.db.backend(), &self.prefix, sql)
    }

    /// Creates the tables (event store and saga store) and the position counter, once.
    pub async fn ensure_schema(&self) -> Result<(), PatternsError> {
        self.ready
            .get_or_try_init(|| create_schema(&self.db, &self.prefix))
            .await?;
        Ok(())
    }

    /// Appends `events` to `stream` if it is at the `expected` version; their records.
    /// A mismatch is [`PatternsError::Concurrency`] and appends nothing.
    pub async fn append(
        &self,
        stream: &str,
        expected: Expected,
        events: Vec<NewEvent>,
    ) -> Result<Vec<RecordedEvent>, PatternsError> {
        if stream.is_empty() {
            return Err(PatternsError::Invalid(
                "a stream id cannot be empty: give the aggregate an id".into(),
            ));
        }
        self.ensure_schema().await?;
        if !events.is_empty() && self.appends_in_one_statement(expected) {
            return self.append_in_one_statement(stream, expected, events).await;
        }
        let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
        let mut tx = self.db.begin(TransactionOptions::default()).await?;
        // The lock that orders the global position: the counter row stays locked until
        // this transaction ends, so appends commit one after another in position order
        // (SQLite: BEGIN IMMEDIATE already serialises writers).
        let bump = "UPDATE {p}event_position SET position = position + ? WHERE id = 1";
        let row = if self.db.backend() == BackendKind::MySql {
            tx.execute(&self.sql(bump), vec![Value::Int(count)]).await?;
            tx.fetch_optional(
                &self.sql("SELECT position FROM {p}event_position WHERE id = 1"),
                vec![],
            )
            .await?
        } else {
            // One round trip instead of two where the backend has RETURNING.
            tx.fetch_optional(
                &self.sql(&format!("{bump} RETURNING position")),
                vec![Value::Int(count)],
            )
            .await?
        }
        .ok_or_else(|| PatternsError::Corrupt {
            what: "position counter",
            message: "its row is missing".into(),
        })?;
        let last_position = int(&row, 0, "position counter")?;
        // A new stream needs no look at its version: its first event's primary key
        // (stream, 1) collides if the stream exists, which is a round trip saved on
        // every aggregate's creation.
        let current = match expected {
            Expected::NoStream => 0,
            _ => match tx
                .fetch_optional(
                    &self.sql("SELECT MAX(version) FROM {p}events WHERE stream_id = ?"),
                    vec![Value::Text(stream.to_owned())],
                )
                .await?
            {
                Some(row) if !matches!(row.get(0), None | Some(Value::Null)) => {
                    int(&row, 0, "stream version")?
                }
                _ => 0,
            },
        };
        if !expected.admits(current) {
            tx.rollback().await?;
            return Err(PatternsError::Concurrency {
                stream: stream.to_owned(),
                expected: expected.describe(),
                actual: current,
            });
        }
        let recorded_at = now();
        let insert = self.sql(&format!(
            "INSERT INTO {{p}}events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ));
        let mut recorded = Vec::with_capacity(events.len());
        let first_position = last_position - count + 1;
        for (offset, event) in (0_i64..).zip(events) {
            let record = event.recorded(
                stream,
                current + offset + 1,
                first_position + offset,
                &recorded_at,
            );
            let params = vec![
                Value::Int(record.position),
                Value::Text(record.stream_id.clone()),
                Value::Int(record.version),
                Value::Text(record.event_id.clone()),
                Value::Text(record.event_type.clone()),
                Value::Int(record.schema_version),
                Value::Text(record.data.to_string()),
                Value::Text(record.metadata.to_string()),
                Value::Text(record.recorded_at.clone()),
            ];
            if let Err(error) = tx.execute(&insert, params).await {
                // The primary key (stream_id, version) is the last guard.
                if error.class() == ErrorClass::UniqueViolation {
                    tx.rollback().await?;
                    let actual = match expected {
                        Expected::NoStream => self.stream_version(stream).await?,
                        _ => current + offset + 1,
                    };
                    return Err(PatternsError::Concurrency {
                        stream: stream.to_owned(),
                        expected: expected.describe(),
                        actual,
                    });
                }
                return Err(error.into());
            }
            if let Some(destination) = &self.outbox {
                let headers = json!({"event-id": record.event_id, "event-type": record.event_type});
                tx.execute(
                    &self.sql(
                        "INSERT INTO {p}outbox (id, destination, message_key, payload, headers, seq, created_at, published_at) \
                         VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                    ),
                    vec![
                        Value::Text(record.event_id.clone()),
                        Value::Text(destination.clone()),
                        Value::Text(record.stream_id.clone()),
                        Value::Text(record.to_json().to_string()),
                        Value::Text(headers.to_string()),
                        Value::Int(record.position),
                        Value::Text(record.recorded_at.clone()),
                    ],
                )
                .await?;
            }
            recorded.push(record);
        }
        tx.commit().await?;
        Ok(recorded)
    }

    /// The events of `stream` after `from_version` (0: all), in version order.
    pub async fn read_stream(
        &self,
        stream: &str,
        from_version: i64,
    ) -> Result<Vec<RecordedEvent>, PatternsError> {
        self.read_stream_raw(stream, from_version)
            .await?
            .into_iter()
            .map(RawEvent::parse)
            .collect()
    }

    /// [`EventStore::read_stream`] with the JSON left as text.
    pub async fn read_stream_raw(
        &self,
        stream: &str,
        from_version: i64,
    ) -> Result<Vec<RawEvent>, PatternsError> {
        self.ensure_schema().await?;
        let rows = self
            .db
            .fetch_all(
                &self.sql(&format!(
                    "SELECT {COLUMNS} FROM {{p}}events WHERE stream_id = ? AND version > ? ORDER BY version"
                )),
                vec![Value::Text(stream.to_owned()), Value::Int(from_version)],
            )
            .await?;
        rows.iter().map(RawEvent::from_row).collect()
    }

    /// Up to `limit` events after global position `from_position` (0: from the start).
    pub async fn read_all(
        &self,
        from_position: i64,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, PatternsError> {
        self.read_all_raw(from_position, limit)
            .await?
            .into_iter()
            .map(RawEvent::parse)
            .collect()
    }

    /// [`EventStore::read_all`] with the JSON left as text.
    pub async fn read_all_raw(
        &self,
        from_position: i64,
        limit: i64,
    ) -> Result<Vec<RawEvent>, PatternsError> {
        if limit < 1 {
            return Err(PatternsError::Invalid(format!(
                "read_all's limit must be at least 1, got {limit}"
            )));
        }
        self.ensure_schema().await?;
        let rows = self
            .db
            .fetch_all(
                &self.sql(&format!(
                    "SELECT {COLUMNS} FROM {{p}}events WHERE position > ? ORDER BY position LIMIT ?"
                )),
                vec![Value::Int(from_position), Value::Int(limit)],
            )
            .await?;
        rows.iter().map(RawEvent::from_row).collect()
    }

    /// The current version of `stream` (0 when it has no events).
    pub async fn stream_version(&self, stream: &str) -> Result<i64, PatternsError> {
        self.ensure_schema().await?;
        let row = self
            .db
            .fetch_optional(
                &self.sql("SELECT MAX(version) FROM {p}events WHERE stream_id = ?"),
                vec![Value::Text(stream.to_owned())],
            )
            .await?;
        match row {
            Some(row) if !matches!(row.get(0), None | Some(Value::Null)) => {
                int(&row, 0, "stream version")
            }
            _ => Ok(0),
        }
    }

    /// Replaces the snapshot of `stream` with `state` as of `version`.
    pub async fn save_snapshot(
        &self,
        stream: &str,
        version: i64,
        state: &serde_json::Value,
    ) -> Result<(), PatternsError> {
        self.ensure_schema().await?;
        let mut tx = self.db.begin(TransactionOptions::default()).await?;
        tx.execute(
            &self.sql("DELETE FROM {p}snapshots WHERE stream_id = ?"),
            vec![Value::Text(stream.to_owned())],
        )
        .await?;
        tx.execute(
            &self.sql(
                "INSERT INTO {p}snapshots (stream_id, version, state, recorded_at) VALUES (?, ?, ?, ?)",
            ),
            vec![
                Value::Text(stream.to_owned()),
                Value::Int(version),
                Value::Text(state.to_string()),
                Value::Text(now()),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The latest snapshot of `stream`, if any.
    pub async fn load_snapshot(&self, stream: &str) -> Result<Option<Snapshot>, PatternsError> {
        self.ensure_schema().await?;
        let row = self
            .db
            .fetch_optional(
                &self.sql(
                    "SELECT stream_id, version, state, recorded_at FROM {p}snapshots WHERE stream_id = ?",
                ),
                vec![Value::Text(stream.to_owned())],
            )
            .await?;
        row.map(|row| {
            Ok(Snapshot {
                stream_id: text(&row, 0, "snapshot stream id")?,
                version: int(&row, 1, "snapshot version")?,
                state: json(&row, 2, "snapshot state")?,
                recorded_at: text(&row, 3, "snapshot timestamp")?,
            })
        })
        .transpose()
    }

    /// The global position projection `name` has processed up to (0 before its first event).
    pub async fn projection_position(&self, name: &str) -> Result<i64, PatternsError> {
        self.ensure_schema().await?;
        let row = self
            .db
            .fetch_optional(
                &self.sql("SELECT position FROM {p}projections WHERE name = ?"),
                vec![Value::Text(name.to_owned())],
            )
            .await?;
        row.map_or(Ok(0), |row| int(&row, 0, "projection position"))
    }
}

async fn create_schema(db: &Database, prefix: &str) -> Result<(), PatternsError> {
    let backend = db.backend();
    for sql in schema(backend) {
        create_once(db, &statement(backend, prefix, &sql)).await?;
    }
    let counter = statement(
        backend,
        prefix,
        "INSERT INTO {p}event_position (id, position) VALUES (1, 0)",
    );
    let exists = db
        .fetch_optional(
            &statement(
                backend,
                prefix,
                "SELECT id FROM {p}event_position WHERE id = 1",
            ),
            vec![],
        )
        .await?;
    if exists.is_none() {
        if let Err(error) = db.execute(&counter, vec![]).await {
            // Another worker inserted it first.
            if error.class() != ErrorClass::UniqueViolation {
                return Err(error.into());
            }
        }
    }
    Ok(())
}

/// `CREATE TABLE IF NOT EXISTS`, tolerating the race of two processes creating the same
/// table at once on PostgreSQL (its catalog reports a unique violation for the loser).
async fn create_once(db: &Database, sql: &str) -> Result<(), PatternsError> {
    match db.execute(sql, vec![]).await {
        Ok(_) => Ok(()),
        Err(error)
            if db.backend() == BackendKind::Postgres
                && error.class() == ErrorClass::UniqueViolation =>
        {
            Ok(())
        }
        Err(error) => Err(error.into()),
    }
}
