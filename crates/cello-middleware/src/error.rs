//! Errors. [`ConfigError`]: a configuration that cannot work; every message says what to
//! change, and the Python binding raises them as `ValueError` at start-up, before a worker
//! forks. [`StoreError`]: a store failed while serving a request; layers decide what that
//! means for the request (the rate limit's fail-open or fail-closed), so it is kept apart
//! from the start-up errors rather than being one more variant of them.

/// A middleware configuration that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A layer kind was enabled twice.
    #[error("{0} is enabled twice: enable each middleware once, with all of its options")]
    Duplicate(&'static str),
    /// A value that must become an HTTP header value is not one.
    #[error("{what}: {value:?} is not a valid header value (visible ASCII only, no CR or LF)")]
    HeaderValue { what: &'static str, value: String },
    /// A header name is not a valid token.
    #[error("{what}: {value:?} is not a valid header name")]
    HeaderName { what: &'static str, value: String },
    /// Any other invalid option, with the sentence that explains it.
    #[error("{0}")]
    Invalid(String),
}

/// A store could not do what a layer asked, while serving a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Redis could not be reached, timed out or refused the command.
    #[cfg(feature = "redis")]
    #[error("redis at {address}: {source}")]
    Redis {
        address: String,
        #[source]
        source: redis::RedisError,
    },
    /// Not tried: the store failed moments ago and is left alone until its retry interval
    /// has passed, so that requests do not each wait for a dead server.
    #[error("{store} is down; it is tried again once its retry interval has passed")]
    Down { store: String },
    /// Under the key is a value of another kind (another layer or program wrote it).
    #[error("{key:?} holds a value of another kind: give each layer a key prefix of its own")]
    WrongKind { key: String },
    /// Redis answered a script with something it never returns (a script of another
    /// version under the same name?).
    #[error("{store} answered {what} with an unexpected reply: {reply}")]
    Reply {
        store: String,
        what: &'static str,
        reply: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }
}

/// Parses a configured header value, naming the option on failure.
pub(crate) fn header_value(
    what: &'static str,
    value: &str,
) -> Result<http::HeaderValue, ConfigError> {
    http::HeaderValue::from_str(value).map_err(|_| ConfigError::HeaderValue {
        what,
        value: value.to_owned(),
    })
}

/// Parses a configured header name, naming the option on failure.
pub(crate) fn header_name(
    what: &'static str,
    value: &str,
) -> Result<http::HeaderName, ConfigError> {
    http::HeaderName::from_bytes(value.as_bytes()).map_err(|_| ConfigError::HeaderName {
        what,
        value: value.to_owned(),
    })
}
