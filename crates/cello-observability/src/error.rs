//! The errors of the metrics registry.

/// What can go wrong registering metrics.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cannot map the shared metrics region: {0}")]
    Map(#[source] std::io::Error),
    #[error("metric {0:?} is already registered with another type or other buckets: use one definition per name")]
    Conflict(String),
    #[error("metric name {0:?} is longer than 128 bytes")]
    NameTooLong(String),
    #[error("{0} buckets are too many: a histogram has at most 30 bounds")]
    TooManyBuckets(usize),
    #[error("invalid metric or label name {0:?}: use [a-zA-Z_:][a-zA-Z0-9_:]* (labels: no colon)")]
    InvalidName(String),
    #[error("the metrics region holds at most 512 metric names, and they are all taken")]
    FamiliesFull,
    #[error("the metrics region tracks at most 256 live workers")]
    WorkersFull,
    #[error("the shared metrics region is corrupt")]
    Corrupt,
}
