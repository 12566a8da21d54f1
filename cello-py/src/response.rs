//! Handler return values → HTTP responses.

use std::cell::RefCell;
use std::rc::Rc;

use crate::driver::LoopShared;
use crate::streaming::ChannelBody;
use bytes::Bytes;
use cello_http::{Response, ResponseBody};
use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use http::StatusCode;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyInt, PyList, PyString, PyTuple, PyType};

static RESPONSE_TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Tells the native module which Python class is `cello.Response`.
pub fn set_response_type(py: Python<'_>, ty: Bound<'_, PyType>) {
    let _ = RESPONSE_TYPE.set(py, ty.unbind());
}

const JSON: HeaderValue = HeaderValue::from_static("application/json");
const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const OCTETS: HeaderValue = HeaderValue::from_static("application/octet-stream");

/// Converts what a handler returned into a response.
///
/// dict/list → JSON; str → text/plain; bytes → application/octet-stream; None → 204;
/// `(body, status)` and `(body, status, headers)` tuples; a `cello.Response`; any
/// other value the JSON encoder knows (dataclasses, models, numbers...) → JSON.
pub fn to_response(value: &Bound<'_, PyAny>, context: &ResponseContext<'_>) -> PyResult<Response> {
    let mut response = convert(value, context)?;
    let status = response.status();
    if status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || status.is_informational()
    {
        // These statuses never carry a body (RFC 9110 §6.4.1).
        *response.body_mut() = ResponseBody::Empty;
        response.headers_mut().remove(CONTENT_LENGTH);
        if status == StatusCode::NO_CONTENT {
            response.headers_mut().remove(CONTENT_TYPE);
        }
    }
    Ok(response)
}

/// What converting a `cello.Response` may need beyond the value itself.
pub struct ResponseContext<'a> {
    /// The worker's loop, for streamed bodies.
    pub shared: &'a Rc<LoopShared>,
    /// Receives a response's `background=` tasks.
    pub background: &'a RefCell<Vec<Py<PyAny>>>,
    /// The request's headers (`Range`, `If-Range` for files).
    pub request_headers: Option<&'a http::HeaderMap>,
}

/// Headers a file response may already carry (validators; a 416's problem type)
/// that Python's defaults must not duplicate.
fn is_file_validator(name: &str) -> bool {
    name.eq_ignore_ascii_case("last-modified") || name.eq_ignore_ascii_case("content-type")
}

fn convert(value: &Bound<'_, PyAny>, context: &ResponseContext<'_>) -> PyResult<Response> {
    if value.is_exact_instance_of::<PyDict>() || value.is_exact_instance_of::<PyList>() {
        return json_response(value);
    }
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(with_type(
            Bytes::copy_from_slice(text.to_str()?.as_bytes()),
            TEXT,
        ));
    }
    if value.is_none() {
        let mut response = Response::new(ResponseBody::Empty);
        *response.status_mut() = StatusCode::NO_CONTENT;
        return Ok(response);
    }
    if let Ok(tuple) = value.cast::<PyTuple>() {
        if let Some(response) = status_tuple(tuple, context)? {
            return Ok(response);
        }
    }
    let py = value.py();
    if let Some(ty) = RESPONSE_TYPE.get(py) {
        let ty = ty.bind(py);
        if value.get_type().is(ty) {
            // A plain `Response`: neither a file nor a stream (those are subclasses).
            return framework_response(value, context, true);
        }
        if value.is_instance(ty)? {
            return framework_response(value, context, false);
        }
    }
    if let Some(bytes) = as_bytes(value) {
        return Ok(with_type(bytes, OCTETS));
    }
    json_response(value)
}

fn json_response(value: &Bound<'_, PyAny>) -> PyResult<Response> {
    Ok(with_type(Bytes::from(crate::json::encode(value)?), JSON))
}

fn with_type(body: Bytes, content_type: HeaderValue) -> Response {
    let mut response = Response::new(ResponseBody::full(body));
    response.headers_mut().insert(CONTENT_TYPE, content_type);
    response
}

fn as_bytes(value: &Bound<'_, PyAny>) -> Option<Bytes> {
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Some(Bytes::copy_from_slice(bytes.as_bytes()));
    }
    if let Ok(array) = value.cast::<PyByteArray>() {
        return Some(Bytes::from(array.to_vec()));
    }
    None
}

/// `(body, status)` or `(body, status, headers)` with headers a dict or a list of
/// pairs; other tuples are JSON arrays.
fn status_tuple(
    tuple: &Bound<'_, PyTuple>,
    context: &ResponseContext<'_>,
) -> PyResult<Option<Response>> {
    let len = tuple.len();
    if !(len == 2 || len == 3) {
        return Ok(None);
    }
    let status = tuple.get_item(1)?;
    if !status.is_instance_of::<PyInt>() || status.is_instance_of::<pyo3::types::PyBool>() {
        return Ok(None);
    }
    let headers = if len == 3 {
        let headers = tuple.get_item(2)?;
        if !(headers.is_instance_of::<PyDict>()
            || headers.is_instance_of::<PyList>()
            || headers.is_instance_of::<PyTuple>())
        {
            return Ok(None);
        }
        Some(headers)
    } else {
        None
    };
    let mut response = convert(&tuple.get_item(0)?, context)?;
    *response.status_mut() = status_code(status.extract()?)?;
    if let Some(headers) = headers {
        let pairs: Bound<'_, PyAny> = if let Ok(dict) = headers.cast::<PyDict>() {
            dict.items().into_any()
        } else {
            headers
        };
        // A name's first value replaces the default (say Content-Type); repeats append.
        let mut seen: Vec<String> = Vec::new();
        for pair in pairs.try_iter()? {
            let (name, value): (String, String) = pair?.extract()?;
            let lower = name.to_ascii_lowercase();
            let repeat = seen.contains(&lower);
            insert_header(&mut response, &name, &value, !repeat)?;
            if !repeat {
                seen.push(lower);
            }
        }
    }
    Ok(Some(response))
}

/// A `cello.Response` (or subclass): status, headers, and a body or a file path.
/// `in_memory`: the exact `Response` class, whose body is always bytes in memory.
fn framework_response(
    value: &Bound<'_, PyAny>,
    context: &ResponseContext<'_>,
    in_memory: bool,
) -> PyResult<Response> {
    let py = value.py();
    let status = status_code(value.getattr(intern!(py, "status_code"))?.extract()?)?;
    let path = (!in_memory)
        .then(|| value.getattr(intern!(py, "path")).ok())
        .flatten()
        .filter(|p| !p.is_none());
    let stream = (!in_memory)
        .then(|| value.getattr(intern!(py, "stream")).ok())
        .flatten()
        .filter(|s| !s.is_none());
    let mut response = match (path, stream) {
        (_, Some(_)) => stream_body(value, context)?,
        (Some(path), None) => {
            let path: std::path::PathBuf = path.extract()?;
            let last_modified: Option<String> = value
                .getattr(intern!(py, "headers"))?
                .call_method1(intern!(py, "get"), ("last-modified",))?
                .extract()?;
            crate::files::file_response(&path, context.request_headers, last_modified.as_deref())?
        }
        (None, None) => {
            let body = value.getattr(intern!(py, "body"))?;
            let bytes = as_bytes(&body).ok_or_else(|| {
                PyTypeError::new_err(
                    "Response.body must be bytes; build responses with Response(...)",
                )
            })?;
            Response::new(ResponseBody::full(bytes))
        }
    };
    // A file answered with 206 or 416 keeps that status.
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    let headers = value.getattr(intern!(py, "raw_headers"))?;
    for pair in headers.try_iter()? {
        let pair = pair?;
        let (name, header_value) = match pair.cast::<PyTuple>() {
            // Borrowed, without copying into Strings: the usual shape.
            Ok(tuple) if tuple.len() == 2 => (tuple.get_item(0)?, tuple.get_item(1)?),
            _ => {
                let (name, header_value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = pair.extract()?;
                (name, header_value)
            }
        };
        let name = name.cast::<PyString>().map_err(PyErr::from)?.to_str()?;
        let header_value = header_value
            .cast::<PyString>()
            .map_err(PyErr::from)?
            .to_str()?;
        if response.headers().contains_key(name) && is_file_validator(name) {
            continue;
        }
        insert_header(&mut response, name, header_value, false)?;
    }
    if let Ok(background) = value.getattr(intern!(py, "background")) {
        if !background.is_none() {
            context.background.borrow_mut().push(background.unbind());
        }
    }
    Ok(response)
}

/// A body produced by the response's iterator, through a pump task (`cello.streaming`).
fn stream_body(value: &Bound<'_, PyAny>, context: &ResponseContext<'_>) -> PyResult<Response> {
    let py = value.py();
    let keep_alive = value
        .getattr(intern!(py, "keep_alive"))
        .ok()
        .filter(|k| !k.is_none())
        .map(|k| k.extract::<f64>())
        .transpose()?
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
        .map(|seconds| {
            (
                std::time::Duration::from_secs_f64(seconds),
                Bytes::from_static(b":\n\n"),
            )
        });
    let (mut body, sink) = ChannelBody::new(context.shared.clone(), keep_alive);
    let task = py
        .import(intern!(py, "cello.streaming"))?
        .call_method1(intern!(py, "start"), (value, sink))?;
    body.set_pump(task.unbind());
    Ok(Response::new(ResponseBody::stream(body)))
}

fn status_code(code: u16) -> PyResult<StatusCode> {
    StatusCode::from_u16(code)
        .ok()
        .filter(|status| (100..=599).contains(&status.as_u16()))
        .ok_or_else(|| {
            PyValueError::new_err(format!("{code} is not an HTTP status code (100-599)"))
        })
}

/// Adds a header, refusing names and values that would break the response (CR/LF
/// injection). `replace` replaces earlier values of the same name.
fn insert_header(response: &mut Response, name: &str, value: &str, replace: bool) -> PyResult<()> {
    let name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| PyValueError::new_err(format!("invalid response header name {name:?}")))?;
    let value = if value == "text/plain; charset=utf-8" {
        Ok(TEXT)
    } else {
        HeaderValue::from_str(value)
    }
    .map_err(|_| {
        PyValueError::new_err(format!(
            "invalid value for response header {name}: {value:?} (control characters such as CR/LF are not allowed)"
        ))
    })?;
    if replace {
        response.headers_mut().insert(name, value);
    } else {
        response.headers_mut().append(name, value);
    }
    Ok(())
}
