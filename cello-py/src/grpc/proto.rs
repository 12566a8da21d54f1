//! `.proto` files compiled in Rust, and messages as Python dicts: the binding of
//! `cello_protocols::grpc::ProtoSet` for the original's dict API (`cello.grpc.GrpcService`).

use std::path::PathBuf;

use cello_protocols::grpc::ProtoSet;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::call::GrpcCallError;

/// The services and messages of a set of `.proto` files.
#[pyclass(name = "ProtoSet", module = "cello._cello", frozen)]
pub struct PyProtoSet {
    inner: ProtoSet,
}

type Method = (String, String, String, String, bool, bool);

#[pymethods]
impl PyProtoSet {
    /// Compiles `files` (found through `include_paths`, and their own folders) with
    /// protox; a `ValueError` says which file and what is wrong.
    #[new]
    #[pyo3(signature = (files, include_paths = Vec::new()))]
    // pyo3 extracts the lists as owned vectors
    #[allow(clippy::needless_pass_by_value)]
    fn new(py: Python<'_>, files: Vec<PathBuf>, include_paths: Vec<PathBuf>) -> PyResult<Self> {
        let inner = py
            .detach(|| ProtoSet::compile(&files, &include_paths))
            .map_err(|error| PyValueError::new_err(error.to_string()))?;
        Ok(Self { inner })
    }

    /// From a serialized `FileDescriptorSet`.
    #[staticmethod]
    fn from_descriptor_set(data: &[u8]) -> PyResult<Self> {
        let inner = ProtoSet::from_descriptor_set(data)
            .map_err(|error| PyValueError::new_err(error.to_string()))?;
        Ok(Self { inner })
    }

    /// `(service, method, input, output, client_streaming, server_streaming)` for
    /// every method.
    fn methods(&self) -> Vec<Method> {
        self.inner
            .methods()
            .into_iter()
            .map(|m| {
                (
                    m.service,
                    m.name,
                    m.input,
                    m.output,
                    m.client_streaming,
                    m.server_streaming,
                )
            })
            .collect()
    }

    /// `(file name, serialized FileDescriptorProto)`, dependencies first.
    fn file_descriptors<'py>(&self, py: Python<'py>) -> Vec<(String, Bound<'py, PyBytes>)> {
        self.inner
            .file_descriptors()
            .into_iter()
            .map(|(name, bytes)| (name, PyBytes::new(py, &bytes)))
            .collect()
    }

    /// The protobuf bytes of a `message` as a dict (proto field names, every field).
    /// Raises `GrpcCallError` (INTERNAL) for bytes that are not such a message.
    fn decode<'py>(
        &self,
        py: Python<'py>,
        message: &str,
        data: &[u8],
    ) -> PyResult<Bound<'py, PyAny>> {
        let json = self
            .inner
            .to_json(message, data)
            .map_err(|error| GrpcCallError::new_err((13u16, error.to_string())))?;
        crate::json::decode(py, &json)
    }

    /// A dict (or anything Cello encodes as a JSON object) as a `message`'s protobuf
    /// bytes. Raises `ValueError` naming the field that does not fit.
    fn encode<'py>(
        &self,
        py: Python<'py>,
        message: &str,
        value: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let json = crate::json::encode(value)?;
        let bytes = self
            .inner
            .from_json(message, &json)
            .map_err(|error| PyValueError::new_err(error.to_string()))?;
        Ok(PyBytes::new(py, &bytes))
    }
}
