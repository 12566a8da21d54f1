//! gRPC status codes and the `grpc-status` / `grpc-message` trailers.

use http::{HeaderMap, HeaderValue};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

/// The canonical status codes (grpc/doc/statuscodes.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum Code {
    Ok = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
}

/// A final status: code, message and any custom trailers.
#[derive(Clone, Debug)]
pub struct Status {
    pub code: u16,
    pub message: String,
    pub trailers: HeaderMap,
}

/// `grpc-message` is percent-encoded: everything outside printable ASCII, and `%`.
const MESSAGE: &AsciiSet = &CONTROLS.add(b'%');

impl Status {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self::with_code(code as u16, message)
    }

    /// A status with a numeric code (values above 16 are passed through as sent).
    pub fn with_code(code: u16, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            trailers: HeaderMap::new(),
        }
    }

    /// Writes `grpc-status`, `grpc-message` and the custom trailers into `map`.
    pub fn write_into(&self, map: &mut HeaderMap) {
        map.insert("grpc-status", HeaderValue::from(self.code));
        if !self.message.is_empty() {
            let encoded = utf8_percent_encode(&self.message, MESSAGE).to_string();
            if let Ok(value) = HeaderValue::from_str(&encoded) {
                map.insert("grpc-message", value);
            }
        }
        for (name, value) in &self.trailers {
            map.append(name.clone(), value.clone());
        }
    }

    /// Decodes a percent-encoded `grpc-message` (used by tests and clients).
    pub fn decode_message(raw: &str) -> String {
        percent_decode_str(raw).decode_utf8_lossy().into_owned()
    }
}
