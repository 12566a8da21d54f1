//! Python exception classes of the native module, and the one place Rust errors
//! become Python exceptions.

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyOSError, PyValueError};
use pyo3::PyErr;

create_exception!(
    cello._cello,
    CelloError,
    PyException,
    "Base class of every error Cello raises."
);
create_exception!(
    cello._cello,
    InvalidJsonError,
    CelloError,
    "The request body is not valid JSON; answered with a 400 if a handler lets it through."
);
create_exception!(
    cello._cello,
    RouteConflictError,
    CelloError,
    "A route was registered twice, or its path pattern is invalid."
);

/// Route registration errors: the message already names both handlers.
pub fn route_error(error: &cello_router::RouteError) -> PyErr {
    RouteConflictError::new_err(error.to_string())
}

/// Socket errors at bind time, with the address and what to do.
pub fn bind_error(error: &std::io::Error, host: &str, port: u16) -> PyErr {
    let hint = match error.kind() {
        std::io::ErrorKind::AddrInUse => {
            "another process is listening there; stop it or choose another port"
        }
        std::io::ErrorKind::PermissionDenied => {
            "ports below 1024 need privileges; use a port above 1024"
        }
        std::io::ErrorKind::AddrNotAvailable => {
            "that address is not on this machine; try 127.0.0.1 or 0.0.0.0"
        }
        _ => "check the host and port",
    };
    PyOSError::new_err(format!("cannot listen on {host}:{port}: {error} ({hint})"))
}

/// A value from Python that cannot be used where it was given.
pub fn invalid(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

create_exception!(
    cello._cello,
    BodyNotReadError,
    CelloError,
    "The body was too large to be read in advance; stream it with request.stream()."
);

create_exception!(
    cello._cello,
    TlsSetupError,
    CelloError,
    "The TLS certificate or key cannot be used (missing file, empty PEM, mismatch)."
);

/// Metric registration errors (a name reused differently, a full region).
pub fn metrics_error(error: &cello_observability::MetricsError) -> PyErr {
    PyValueError::new_err(error.to_string())
}
