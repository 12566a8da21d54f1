//! The one error enum of the crate.

use cello_data::DataError;

/// What went wrong in the event store or the saga store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PatternsError {
    /// An append's expected version did not match the stream: another writer won.
    #[error(
        "stream {stream:?} is at version {actual}, but the append expected {expected}: \
         another writer appended first; reload the aggregate and retry the command"
    )]
    Concurrency {
        stream: String,
        expected: String,
        actual: i64,
    },
    /// An argument that cannot work (an empty stream id, a bad limit).
    #[error("{0}")]
    Invalid(String),
    /// A stored row that does not decode (a column changed by hand).
    #[error("stored {what} is corrupt: {message}")]
    Corrupt { what: &'static str, message: String },
    /// The database failed.
    #[error(transparent)]
    Data(#[from] DataError),
}
