//! The binding of cello-middleware: one constructor per layer, taking the arguments
//! `cello.App.enable_*` validated, returning an opaque `Middleware` spec. A spec holds
//! the layer's config (plain data, `Send`); each worker builds its chain from the specs
//! when its engine starts, after fork, so stores connect in the worker.

use cello_middleware::{
    ApiKeyAuth, ApiKeyConfig, BasicAuth, BasicAuthConfig, Csrf, CsrfConfig, JwtAuth, JwtConfig,
    Session, SessionConfig,
};
use cello_middleware::{
    Cache, CacheConfig, CircuitBreaker, CircuitBreakerConfig, Etag, EtagConfig, StaticFiles,
    StaticFilesConfig,
};

mod auth;
pub mod session;
use cello_middleware::{
    Chain, Compression, CompressionConfig, ConfigError, Cors, CorsConfig, Layer, MemoryStoreConfig,
    OnStoreError, RateLimit, RateLimitAlgorithm, RateLimitConfig, RateLimitKey, RequestId,
    RequestIdConfig, SecurityHeaders, SecurityHeadersConfig, StoreConfig,
};
use std::rc::Rc;

use pyo3::prelude::*;

use crate::dispatch::Dispatcher;

use crate::errors::invalid;

#[derive(Clone, Debug)]
enum Spec {
    Cors(CorsConfig),
    SecurityHeaders(SecurityHeadersConfig),
    RequestId(RequestIdConfig),
    Compression(CompressionConfig),
    RateLimit(RateLimitConfig),
    StaticFiles(StaticFilesConfig),
    Etag(EtagConfig),
    Cache(CacheConfig),
    CircuitBreaker(CircuitBreakerConfig),
    Jwt(JwtConfig),
    Basic(BasicAuthConfig),
    ApiKey(ApiKeyConfig),
    Session(SessionConfig),
    Csrf(CsrfConfig),
}

impl Spec {
    fn build(&self) -> Result<Layer, ConfigError> {
        Ok(match self {
            Self::Cors(config) => Cors::new(config)?.into(),
            Self::SecurityHeaders(config) => SecurityHeaders::new(config)?.into(),
            Self::RequestId(config) => RequestId::new(config)?.into(),
            Self::Compression(config) => Compression::new(config)?.into(),
            Self::RateLimit(config) => RateLimit::new(config.clone())?.into(),
            Self::StaticFiles(config) => StaticFiles::new(config)?.into(),
            Self::Etag(config) => Etag::new(config)?.into(),
            Self::Cache(config) => Cache::new(config)?.into(),
            Self::CircuitBreaker(config) => CircuitBreaker::new(config)?.into(),
            Self::Jwt(config) => JwtAuth::new(config)?.into(),
            Self::Basic(config) => BasicAuth::new(config)?.into(),
            Self::ApiKey(config) => ApiKeyAuth::new(config)?.into(),
            Self::Session(config) => Session::new(config)?.into(),
            Self::Csrf(config) => Csrf::new(config)?.into(),
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
        // Not the config's Debug: it would print secrets.
        let kind = match &self.spec {
            Spec::Cors(_) => "cors",
            Spec::SecurityHeaders(_) => "security headers",
            Spec::RequestId(_) => "request id",
            Spec::Compression(_) => "compression",
            Spec::RateLimit(_) => "rate limit",
            Spec::StaticFiles(_) => "static files",
            Spec::Etag(_) => "etag",
            Spec::Cache(_) => "cache",
            Spec::CircuitBreaker(_) => "circuit breaker",
            Spec::Jwt(_) => "jwt",
            Spec::Basic(_) => "basic auth",
            Spec::ApiKey(_) => "api key",
            Spec::Session(_) => "session",
            Spec::Csrf(_) => "csrf",
        };
        format!("<Middleware {kind}>")
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
    build_chain_of(specs.iter().map(|spec| &**spec))
}

/// A chain from any list of specs (a blueprint's).
pub(crate) fn build_chain_of<'a>(
    specs: impl Iterator<Item = &'a PyMiddleware>,
) -> PyResult<Option<Chain>> {
    let layers = specs
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

/// Where a layer keeps its state, as `cello.MemoryStore` / `cello.RedisStore` describe
/// it: `("memory", max_entries)` or `("redis", url, key_prefix, timeout_secs)`.
#[derive(FromPyObject)]
#[allow(dead_code)] // the first field, the kind, only selects the variant
pub enum StoreSpec {
    Memory(String, usize),
    Redis(String, String, String, f64),
}

#[cfg_attr(not(feature = "redis"), allow(clippy::needless_pass_by_value))]
fn store_config(spec: StoreSpec) -> PyResult<StoreConfig> {
    match spec {
        StoreSpec::Memory(_, max_entries) => {
            Ok(StoreConfig::Memory(MemoryStoreConfig { max_entries }))
        }
        #[cfg(feature = "redis")]
        StoreSpec::Redis(_, url, key_prefix, timeout) => {
            if !(timeout.is_finite() && timeout > 0.0) {
                return Err(invalid(format!(
                    "RedisStore timeout must be a positive number of seconds, got {timeout}"
                )));
            }
            Ok(StoreConfig::Redis(cello_middleware::RedisStoreConfig {
                url,
                key_prefix,
                timeout: std::time::Duration::from_secs_f64(timeout),
                ..cello_middleware::RedisStoreConfig::default()
            }))
        }
        #[cfg(not(feature = "redis"))]
        StoreSpec::Redis(..) => Err(invalid(
            "this build of Cello has no Redis store: rebuild with the cargo feature `redis` \
             (CELLO_FEATURES=redis, docs/install.md)",
        )),
    }
}

#[pyfunction]
#[pyo3(signature = (
    algorithm, capacity, refill_rate, window_secs, min_capacity, error_threshold,
    key_by, key_header, trusted_proxies, trust_x_real_ip, exempt_paths, store, fail_closed,
))]
#[allow(clippy::too_many_arguments)]
pub fn rate_limit_layer(
    algorithm: &str,
    capacity: i64,
    refill_rate: f64,
    window_secs: i64,
    min_capacity: i64,
    error_threshold: f64,
    key_by: &str,
    key_header: Option<String>,
    trusted_proxies: Vec<String>,
    trust_x_real_ip: bool,
    exempt_paths: Vec<String>,
    store: StoreSpec,
    fail_closed: bool,
) -> PyResult<PyMiddleware> {
    let algorithm = match algorithm {
        "token_bucket" => RateLimitAlgorithm::TokenBucket {
            capacity,
            refill_rate,
        },
        "sliding_window" => RateLimitAlgorithm::SlidingWindow {
            max_requests: capacity,
            window_secs,
        },
        "adaptive" => RateLimitAlgorithm::Adaptive {
            capacity,
            refill_rate,
            min_capacity,
            error_threshold,
        },
        other => {
            return Err(invalid(format!(
                "unknown rate limit algorithm {other:?}: use \"token_bucket\", \
                 \"sliding_window\" or \"adaptive\""
            )))
        }
    };
    let key = match (key_by, key_header) {
        ("ip", _) => RateLimitKey::ClientIp,
        ("route", _) => RateLimitKey::Route,
        ("header", Some(name)) => RateLimitKey::Header(name),
        (other, _) => {
            return Err(invalid(format!(
                "rate limit key_by {other:?}: use \"ip\", \"route\" or \"header:<name>\""
            )))
        }
    };
    checked(Spec::RateLimit(RateLimitConfig {
        algorithm,
        key,
        trusted_proxies,
        trust_x_real_ip,
        exempt_paths,
        store: store_config(store)?,
        on_store_error: if fail_closed {
            OnStoreError::FailClosed
        } else {
            OnStoreError::FailOpen
        },
    }))
}

#[pyfunction]
#[pyo3(signature = (
    root, prefix, index_file, enable_etag, enable_last_modified, cache_control,
    directory_listing, precompressed,
))]
#[allow(clippy::too_many_arguments)]
pub fn static_files_layer(
    root: std::path::PathBuf,
    prefix: String,
    index_file: Option<String>,
    enable_etag: bool,
    enable_last_modified: bool,
    cache_control: Option<String>,
    directory_listing: bool,
    precompressed: bool,
) -> PyResult<PyMiddleware> {
    checked(Spec::StaticFiles(StaticFilesConfig {
        root,
        prefix,
        index_file,
        enable_etag,
        enable_last_modified,
        cache_control,
        directory_listing,
        precompressed,
    }))
}

#[pyfunction]
pub fn etag_layer(weak: bool) -> PyResult<PyMiddleware> {
    checked(Spec::Etag(EtagConfig { weak }))
}

fn seconds(what: &str, value: f64) -> PyResult<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(value)
        .map_err(|_| invalid(format!("{what} must be 0 or more seconds, got {value}")))
}

#[pyfunction]
#[pyo3(signature = (
    ttl, methods, exclude_paths, cache_authenticated, session_cookies, max_entries,
    max_entry_size, max_size, store,
))]
#[allow(clippy::too_many_arguments)]
pub fn cache_layer(
    ttl: f64,
    methods: Vec<String>,
    exclude_paths: Vec<String>,
    cache_authenticated: bool,
    session_cookies: Vec<String>,
    max_entries: usize,
    max_entry_size: usize,
    max_size: usize,
    store: StoreSpec,
) -> PyResult<PyMiddleware> {
    checked(Spec::Cache(CacheConfig {
        ttl: seconds("caching ttl", ttl)?,
        methods,
        exclude_paths,
        cache_authenticated,
        session_cookies,
        max_entries,
        max_entry_size,
        max_size,
        store: store_config(store)?,
    }))
}

#[pyfunction]
pub fn circuit_breaker_layer(
    failure_threshold: u32,
    reset_timeout: f64,
    half_open_target: u32,
    failure_codes: Vec<u16>,
    max_routes: usize,
) -> PyResult<PyMiddleware> {
    checked(Spec::CircuitBreaker(CircuitBreakerConfig {
        failure_threshold,
        reset_timeout: seconds("circuit breaker reset_timeout", reset_timeout)?,
        half_open_target,
        failure_codes,
        max_routes,
    }))
}

/// Drops the cached responses tagged with any of `tags` from the cache of
/// `dispatcher`'s chain; whether it has one. With the memory backend it is done before
/// this returns; with Redis the deletion runs on the worker's loop (done on its next
/// turns).
pub(crate) fn invalidate_cache(
    dispatcher: &Rc<Dispatcher>,
    driver: &crate::driver::DriverState,
    tags: Vec<String>,
) -> bool {
    use futures_util::FutureExt as _;
    fn cache(dispatcher: &Dispatcher) -> Option<&Cache> {
        dispatcher
            .middleware()?
            .layers()
            .iter()
            .find_map(|layer| match layer {
                Layer::Cache(cache) => Some(cache),
                _ => None,
            })
    }
    if cache(dispatcher).is_none() {
        return false;
    }
    let dispatcher = dispatcher.clone();
    let mut task = Box::pin(async move {
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        if let Some(cache) = cache(&dispatcher) {
            if let Err(error) = cache.invalidate(&tags).await {
                eprintln!("cello: cache invalidation failed: {error}");
            }
        }
    });
    if (&mut task).now_or_never().is_none() {
        let _guard = driver.runtime.enter();
        driver.local.spawn_local(task);
    }
    true
}

pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<PyMiddleware>()?;
    module.add_function(wrap_pyfunction!(cors_layer, module)?)?;
    module.add_function(wrap_pyfunction!(security_headers_layer, module)?)?;
    module.add_function(wrap_pyfunction!(request_id_layer, module)?)?;
    module.add_function(wrap_pyfunction!(compression_layer, module)?)?;
    module.add_function(wrap_pyfunction!(rate_limit_layer, module)?)?;
    module.add_function(wrap_pyfunction!(static_files_layer, module)?)?;
    module.add_function(wrap_pyfunction!(etag_layer, module)?)?;
    module.add_function(wrap_pyfunction!(cache_layer, module)?)?;
    module.add_function(wrap_pyfunction!(circuit_breaker_layer, module)?)?;
    auth::register(module)?;
    Ok(())
}
