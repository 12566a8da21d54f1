//! `cello._cello`: the native module behind the `cello` package.
//!
//! This crate converts, dispatches and maps errors; the HTTP engine (`cello-http`)
//! and the router (`cello-router`) do the work and know nothing of Python.
//! Users import from `cello`, never from here.

mod app;
mod current;
#[cfg(feature = "_data")]
mod data;
mod datastructures;
mod dispatch;
mod driver;
mod errors;
mod files;
mod forms;
#[cfg(feature = "graphql")]
mod graphql;
#[cfg(feature = "grpc")]
mod grpc;
mod handshake;
mod json;
#[cfg(feature = "_messaging")]
mod messaging;
mod middleware;
mod observability;
mod request;
mod respond;
mod response;
mod server;
mod streaming;
mod thread_bound;
mod websocket;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyType};

/// Encodes `value` to JSON bytes with Cello's encoder (the one responses use).
#[pyfunction]
fn json_dumps<'py>(py: Python<'py>, value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(py, &json::encode(value)?))
}

/// Parses JSON (bytes or str) with Cello's decoder (the one `request.json()` uses).
#[pyfunction]
fn json_loads<'py>(py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if let Ok(bytes) = data.cast::<PyBytes>() {
        return json::decode(py, bytes.as_bytes());
    }
    let text: &str = data.extract()?;
    json::decode(py, text.as_bytes())
}

/// Registers the Python `cello.Response` class so handler return values can be recognised.
#[pyfunction]
fn set_response_type(py: Python<'_>, response_type: Bound<'_, PyType>) {
    response::set_response_type(py, response_type);
}

/// Which optional subsystems this build of the native module includes.
#[pyfunction]
fn features() -> Vec<&'static str> {
    let mut features = vec!["http1", "http2", "tls", "websocket"];
    if cfg!(feature = "http3") {
        features.push("http3");
    }
    if cfg!(feature = "redis") {
        features.push("redis");
    }
    if cfg!(feature = "otel") {
        features.push("otel");
    }
    if cfg!(feature = "graphql") {
        features.push("graphql");
    }
    if cfg!(feature = "grpc") {
        features.push("grpc");
    }
    for (enabled, name) in [
        (cfg!(feature = "sqlite"), "sqlite"),
        (cfg!(feature = "postgres"), "postgres"),
        (cfg!(feature = "mysql"), "mysql"),
        (cfg!(feature = "rabbitmq"), "rabbitmq"),
        (cfg!(feature = "sqs"), "sqs"),
        (cfg!(feature = "kafka"), "kafka"),
    ] {
        if enabled {
            features.push(name);
        }
    }
    features
}

#[pymodule]
fn _cello(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("CelloError", py.get_type::<errors::CelloError>())?;
    m.add("InvalidJSON", py.get_type::<errors::InvalidJsonError>())?;
    m.add(
        "RouteConflictError",
        py.get_type::<errors::RouteConflictError>(),
    )?;
    m.add("BodyNotRead", py.get_type::<errors::BodyNotReadError>())?;
    m.add("TlsError", py.get_type::<errors::TlsSetupError>())?;
    m.add_class::<app::PyAppCore>()?;
    m.add_class::<driver::PyDriver>()?;
    m.add_class::<server::PyEngine>()?;
    m.add_class::<server::PyServer>()?;
    m.add_class::<request::PyRequest>()?;
    m.add_class::<datastructures::PyHeaders>()?;
    m.add_class::<datastructures::PyQueryParams>()?;
    m.add_class::<streaming::PyBodySink>()?;
    m.add_class::<websocket::PyWebSocket>()?;
    m.add_function(wrap_pyfunction!(json_dumps, m)?)?;
    m.add_function(wrap_pyfunction!(json_loads, m)?)?;
    m.add_function(wrap_pyfunction!(set_response_type, m)?)?;
    m.add_function(wrap_pyfunction!(features, m)?)?;
    m.add_function(wrap_pyfunction!(forms::read_chunk, m)?)?;
    m.add_function(wrap_pyfunction!(current::current_request, m)?)?;
    m.add_function(wrap_pyfunction!(forms::read_form, m)?)?;
    middleware::register(m)?;
    observability::register(m)?;
    #[cfg(feature = "_data")]
    data::register(m)?;
    #[cfg(feature = "graphql")]
    graphql::register(m)?;
    #[cfg(feature = "_messaging")]
    messaging::register(m)?;
    #[cfg(feature = "grpc")]
    {
        m.add_class::<grpc::PyGrpcCall>()?;
        m.add_class::<grpc::PyProtoSet>()?;
        m.add("GrpcCallError", py.get_type::<grpc::GrpcCallError>())?;
    }
    Ok(())
}
