//! The messaging error enum.

/// Everything messaging can fail with.
#[derive(Debug, thiserror::Error)]
pub enum MessagingError {
    /// The broker could not be reached (or refused the login) within the timeout.
    #[error("cannot connect to the broker at {address}: {reason}")]
    Connect {
        /// host:port, without credentials
        address: String,
        /// what went wrong
        reason: String,
    },
    /// The configuration cannot work (a bad URL, a zero timeout).
    #[error("{0}")]
    Config(String),
    /// The broker refused an operation, or the connection broke during it.
    #[error("{operation} failed: {source}")]
    Broker {
        /// what was being done (`declaring queue "orders"`)
        operation: String,
        /// the client's error
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The broker did not confirm a published message (a negative confirm).
    #[error("the broker refused the message published to {destination:?} (negative confirm)")]
    NotConfirmed {
        /// where it was published
        destination: String,
    },
    /// The broker was disconnected for longer than the publish timeout.
    #[error("the broker stayed unreachable for {seconds}s while publishing to {destination:?}")]
    Unavailable {
        /// where it was being published
        destination: String,
        /// how long it waited
        seconds: f64,
    },
    /// A delivery was acked, nacked or rejected a second time.
    #[error(
        "this message was already settled ({0}); a delivery is acked, nacked or rejected once"
    )]
    AlreadySettled(&'static str),
    /// The broker was closed.
    #[error("the broker connection is closed")]
    Closed,
}

impl MessagingError {
    pub(crate) fn broker(
        operation: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Broker {
            operation: operation.into(),
            source: Box::new(source),
        }
    }
}
