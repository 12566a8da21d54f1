//! The binding of cello-middleware: one constructor per layer, taking the arguments
//! `cello.App.enable_*` validated, returning an opaque `Middleware` spec. A spec holds
//! the layer's config (plain data, `Send`); each worker builds its chain from the specs
//! when its engine starts, after fork, so stores connect in the worker.

use cello_middleware::{
    Chain, Compression, CompressionConfig, ConfigError, Cors, CorsConfig, Layer, RequestId,
    RequestIdConfig, SecurityHeaders, SecurityHeadersConfig,
};
use pyo3::prelude::*;

use crate::errors::invalid;

#[derive(Clone, Debug)]
enum Spec {
    Cors(CorsConfig),
    SecurityHeaders(SecurityHeadersConfig),
    RequestId(RequestIdConfig),
    Compression(CompressionConfig),
}

impl Spec {
    fn build(&self) -> Result<Layer, ConfigError> {
        Ok(match self {
            Self::Cors(config) => Cors::new(config)?.into(),
            Self::SecurityHeaders(config) => SecurityHeaders::new(config)?.into(),
            Self::RequestId(config) => RequestId::new(config)?.into(),
            Self::Compression(config) => Compression::new(config)?.into(),
        })
    }
}

/// A validated middleware configuration, made by `App.enable_*`.
#[pyclass(name = "Middleware", module = "cello._cello", frozen)]
pub struct PyMiddleware {
    spec: Spec,
}

#[pymethods]
impl PyMiddleware {
    fn __repr__(&self) -> String {
        format!("<Middleware {:?}>", self.spec)
    }
}

/// Validates `spec` by building its layer once, so a bad option fails at `enable_*`.
fn checked(spec: Spec) -> PyResult<PyMiddleware> {
    spec.build().map_err(config_error)?;
    Ok(PyMiddleware { spec })
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(config_error)`
pub(crate) fn config_error(error: ConfigError) -> PyErr {
    invalid(error.to_string())
}

/// The chain of a worker, from the app's specs; `None` without middleware.
pub(crate) fn build_chain(specs: &[PyRef<'_, PyMiddleware>]) -> PyResult<Option<Chain>> {
    let layers = specs
        .iter()
        .map(|spec| spec.spec.build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(config_error)?;
    Chain::new(layers).map_err(config_error)
}

#[pyfunction]
#[pyo3(signature = (origins, methods, headers, expose_headers, allow_credentials, max_age))]
pub fn cors_layer(
    origins: Vec<String>,
    methods: Vec<String>,
    headers: Option<Vec<String>>,
    expose_headers: Vec<String>,
    allow_credentials: bool,
    max_age: Option<u32>,
) -> PyResult<PyMiddleware> {
    checked(Spec::Cors(CorsConfig {
        origins,
        methods,
        headers,
        expose_headers,
        allow_credentials,
        max_age,
    }))
}

#[pyfunction]
#[pyo3(signature = (
    x_frame_options, x_content_type_options, x_xss_protection, referrer_policy,
    hsts_max_age, hsts_include_subdomains, hsts_preload, csp, permissions_policy,
    coep, coop, corp,
))]
#[allow(clippy::too_many_arguments)]
pub fn security_headers_layer(
    x_frame_options: Option<String>,
    x_content_type_options: bool,
    x_xss_protection: Option<String>,
    referrer_policy: Option<String>,
    hsts_max_age: Option<u64>,
    hsts_include_subdomains: bool,
    hsts_preload: bool,
    csp: Option<String>,
    permissions_policy: Option<String>,
    coep: Option<String>,
    coop: Option<String>,
    corp: Option<String>,
) -> PyResult<PyMiddleware> {
    checked(Spec::SecurityHeaders(SecurityHeadersConfig {
        x_frame_options,
        x_content_type_options,
        x_xss_protection,
        referrer_policy,
        hsts_max_age,
        hsts_include_subdomains,
        hsts_preload,
        csp,
        permissions_policy,
        coep,
        coop,
        corp,
    }))
}

#[pyfunction]
pub fn request_id_layer(header: String, trust_incoming: bool) -> PyResult<PyMiddleware> {
    checked(Spec::RequestId(RequestIdConfig {
        header,
        trust_incoming,
    }))
}

#[pyfunction]
#[pyo3(signature = (min_size, gzip, brotli, zstd, gzip_level, brotli_level, zstd_level))]
pub fn compression_layer(
    min_size: usize,
    gzip: bool,
    brotli: bool,
    zstd: bool,
    gzip_level: u32,
    brotli_level: u32,
    zstd_level: i32,
) -> PyResult<PyMiddleware> {
    checked(Spec::Compression(CompressionConfig {
        min_size,
        gzip,
        brotli,
        zstd,
        gzip_level,
        brotli_level,
        zstd_level,
    }))
}

pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<PyMiddleware>()?;
    module.add_function(wrap_pyfunction!(cors_layer, module)?)?;
    module.add_function(wrap_pyfunction!(security_headers_layer, module)?)?;
    module.add_function(wrap_pyfunction!(request_id_layer, module)?)?;
    module.add_function(wrap_pyfunction!(compression_layer, module)?)?;
    Ok(())
}
