//! Cello's architecture patterns, without Python: an event store on SQL (streams with
//! optimistic concurrency, a gap-free global order, snapshots, projection positions) and
//! the checkpoints of durable sagas, persisted through `cello-data` on SQLite, PostgreSQL
//! or MySQL.
//!
//! The global position is assigned under a lock: each append updates a single-row counter
//! inside its own transaction, so appends commit one after another in position order and a
//! reader of `read_all` never skips an event that commits late (docs/patterns.md).
//!
//! ```no_run
//! # async fn demo() -> Result<(), cello_patterns::PatternsError> {
//! use cello_data::{Database, PoolConfig};
//! use cello_patterns::{EventStore, Expected, NewEvent};
//!
//! let db = Database::connect(PoolConfig::new("sqlite::memory:")).await?;
//! let store = EventStore::new(db, "cello_");
//! let event = NewEvent::new("OrderCreated", serde_json::json!({"total": 10}));
//! store.append("order-1", Expected::NoStream, vec![event]).await?;
//! let events = store.read_stream("order-1", 0).await?;
//! assert_eq!(events[0].version, 1);
//! # Ok(()) }
//! ```

mod error;
mod event_store;
mod saga_store;
mod sql;

pub use error::PatternsError;
pub use event_store::{EventStore, Expected, NewEvent, RawEvent, RecordedEvent, Snapshot};
pub use saga_store::{SagaInstance, SagaStep, SagaStore};
