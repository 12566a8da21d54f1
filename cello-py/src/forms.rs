//! Reading a request body after the handler started: chunks (`request.stream()`) and
//! forms (`request.form()`), resolved into asyncio futures. The parsing itself is
//! `cello_http::multipart`.

use std::path::PathBuf;

use cello_http::multipart::{self, FileData, FormLimits, FormPart};
use cello_http::{BodyChunks, HttpError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::driver::PyDriver;
use crate::request::PyRequest;

/// The unread body of `request` (the rest of a streamed one, or the buffered bytes
/// once). `None` when it was consumed already.
fn body_source(request: &PyRequest) -> Option<BodyChunks> {
    if let Some(chunks) = request.take_pending() {
        return Some(chunks);
    }
    let already = request
        .streamed
        .swap(true, std::sync::atomic::Ordering::SeqCst);
    (!already).then(|| BodyChunks::from_bytes(request.body.clone()))
}

/// Resolves `future` with the next body chunk (`bytes`), or `None` at the end.
#[pyfunction]
pub fn read_chunk(request: Py<PyRequest>, driver: &PyDriver, future: Py<PyAny>) -> PyResult<()> {
    let state = driver.state()?;
    let shared = state.shared.clone();
    let _guard = state.runtime.enter();
    state.local.spawn_local(async move {
        let source = Python::attach(|py| body_source(request.get()).ok_or(py.None()));
        let outcome = match source {
            Err(_) => Ok(None),
            Ok(mut chunks) => {
                let next = chunks.next_chunk().await;
                if matches!(next, Ok(Some(_))) {
                    request.get().restore_pending(chunks);
                }
                next
            }
        };
        Python::attach(|py| {
            let result = match outcome {
                Ok(Some(chunk)) => resolve(py, &future, PyBytes::new(py, &chunk).into_any()),
                Ok(None) => resolve(py, &future, py.None().into_bound(py)),
                Err(error) => reject(py, &future, &error),
            };
            if let Err(error) = result {
                error.print(py);
            }
            drop(request);
            shared.after_python(py);
        });
    });
    Ok(())
}

/// Resolves `future` with the parts of the request's form: a list of
/// `("field", name, value)` and `("file", name, filename, content_type, sniffed_type,
/// size, data_or_none, path_or_none)` tuples.
#[pyfunction]
#[pyo3(signature = (request, driver, future, max_fields, max_files, max_field_size, max_file_size, spool_threshold, temp_dir = None))]
#[allow(clippy::too_many_arguments)]
pub fn read_form(
    request: Py<PyRequest>,
    driver: &PyDriver,
    future: Py<PyAny>,
    max_fields: usize,
    max_files: usize,
    max_field_size: usize,
    max_file_size: u64,
    spool_threshold: usize,
    temp_dir: Option<PathBuf>,
) -> PyResult<()> {
    let limits = FormLimits {
        max_fields,
        max_files,
        max_field_size,
        max_file_size,
        spool_threshold,
        temp_dir,
    };
    let content_type = request.get().content_type_text().unwrap_or_default();
    let state = driver.state()?;
    let shared = state.shared.clone();
    let _guard = state.runtime.enter();
    state.local.spawn_local(async move {
        let source = Python::attach(|_| body_source(request.get()));
        let outcome = match source {
            None => Err(HttpError::Form(
                "the body was already read (by request.stream())".into(),
            )),
            Some(chunks) => read_parts(chunks, &content_type, &limits).await,
        };
        Python::attach(|py| {
            let result = match outcome {
                Ok(parts) => {
                    parts_to_python(py, parts).and_then(|parts| resolve(py, &future, parts))
                }
                Err(error) => reject(py, &future, &error),
            };
            if let Err(error) = result {
                error.print(py);
            }
            drop(request);
            shared.after_python(py);
        });
    });
    Ok(())
}

async fn read_parts(
    mut chunks: BodyChunks,
    content_type: &str,
    limits: &FormLimits,
) -> Result<Vec<FormPart>, HttpError> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "multipart/form-data" => {
            let boundary = multipart::boundary(content_type)
                .ok_or_else(|| HttpError::Form("multipart/form-data without a boundary parameter".into()))?;
            multipart::read_multipart(chunks, &boundary, limits).await
        }
        "application/x-www-form-urlencoded" | "" => {
            let mut body = Vec::new();
            while let Some(chunk) = chunks.next_chunk().await? {
                body.extend_from_slice(&chunk);
                if body.len() > limits.max_field_size.saturating_mul(limits.max_fields.max(1)) {
                    return Err(HttpError::FormLimit("the urlencoded form is larger than its limits allow".into()));
                }
            }
            let pairs = multipart::parse_urlencoded(&body);
            if pairs.len() > limits.max_fields {
                return Err(HttpError::FormLimit(format!(
                    "the form has more than {} fields (the max_form_fields limit)",
                    limits.max_fields
                )));
            }
            Ok(pairs
                .into_iter()
                .map(|(name, value)| FormPart::Field { name, value })
                .collect())
        }
        other => Err(HttpError::Form(format!(
            "a form needs Content-Type application/x-www-form-urlencoded or multipart/form-data, not {other:?}"
        ))),
    }
}

fn parts_to_python(py: Python<'_>, parts: Vec<FormPart>) -> PyResult<Bound<'_, PyAny>> {
    let list = PyList::empty(py);
    for part in parts {
        let item = match part {
            FormPart::Field { name, value } => PyTuple::new(
                py,
                [
                    "field".into_pyobject(py)?.into_any(),
                    name.into_pyobject(py)?.into_any(),
                    value.into_pyobject(py)?.into_any(),
                ],
            )?,
            FormPart::File(file) => {
                let (data, path): (Bound<'_, PyAny>, Bound<'_, PyAny>) = match file.data {
                    FileData::Memory(bytes) => (
                        PyBytes::new(py, &bytes).into_any(),
                        py.None().into_bound(py),
                    ),
                    FileData::Disk(path) => {
                        (py.None().into_bound(py), path.into_pyobject(py)?.into_any())
                    }
                };
                PyTuple::new(
                    py,
                    [
                        "file".into_pyobject(py)?.into_any(),
                        file.field.into_pyobject(py)?.into_any(),
                        file.filename.into_pyobject(py)?.into_any(),
                        file.content_type.into_pyobject(py)?.into_any(),
                        file.sniffed_type.into_pyobject(py)?.into_any(),
                        file.size.into_pyobject(py)?.into_any(),
                        data,
                        path,
                    ],
                )?
            }
        };
        list.append(item)?;
    }
    Ok(list.into_any())
}

fn resolve<'py>(py: Python<'py>, future: &Py<PyAny>, value: Bound<'py, PyAny>) -> PyResult<()> {
    let future = future.bind(py);
    if future.call_method0(intern!(py, "done"))?.is_truthy()? {
        return Ok(());
    }
    future.call_method1(intern!(py, "set_result"), (value,))?;
    Ok(())
}

/// Fails `future` with an `HTTPException` carrying the error's status (413, 408, 400).
fn reject(py: Python<'_>, future: &Py<PyAny>, error: &HttpError) -> PyResult<()> {
    let future_bound = future.bind(py);
    if future_bound
        .call_method0(intern!(py, "done"))?
        .is_truthy()?
    {
        return Ok(());
    }
    let exception = py
        .import(intern!(py, "cello.exceptions"))?
        .getattr(intern!(py, "HTTPException"))?
        .call1((error.status().as_u16(), error.to_string()))?;
    future_bound.call_method1(intern!(py, "set_exception"), (exception,))?;
    Ok(())
}
