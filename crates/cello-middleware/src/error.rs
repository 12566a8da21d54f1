//! Configuration errors. Every message says what to change; the Python binding raises
//! them as `ValueError` at start-up, before a worker forks.

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
