//! Constructors of the authentication, session and CSRF layers (`enable_jwt`,
//! `enable_basic_auth`, `enable_api_key`, `enable_session`, `enable_csrf`).

use std::collections::HashMap;

use cello_middleware::{
    ApiKeyConfig, BasicAuthConfig, CsrfConfig, JwtConfig, SameSite, SessionConfig,
};
use pyo3::prelude::*;

use super::{checked, store_config, PyMiddleware, Spec, StoreSpec};
use crate::errors::invalid;

#[pyfunction]
#[pyo3(signature = (
    secret, algorithm, header_name, header_prefix, cookie_name, leeway, issuer, audience,
    public_key, jwks, skip_paths,
))]
#[allow(clippy::too_many_arguments)]
pub fn jwt_layer(
    secret: Option<Vec<u8>>,
    algorithm: String,
    header_name: String,
    header_prefix: String,
    cookie_name: Option<String>,
    leeway: u64,
    issuer: Vec<String>,
    audience: Vec<String>,
    public_key: Option<String>,
    jwks: Option<String>,
    skip_paths: Vec<String>,
) -> PyResult<PyMiddleware> {
    checked(Spec::Jwt(JwtConfig {
        secret,
        algorithm,
        header_name,
        header_prefix,
        cookie_name,
        leeway,
        issuer,
        audience,
        public_key,
        jwks,
        skip_paths,
    }))
}

#[pyfunction]
pub fn basic_auth_layer(
    credentials: HashMap<String, String>,
    realm: String,
    skip_paths: Vec<String>,
) -> PyResult<PyMiddleware> {
    checked(Spec::Basic(BasicAuthConfig {
        credentials,
        realm,
        skip_paths,
    }))
}

/// `keys`: key → holder name, or key → claims as JSON text.
#[pyfunction]
pub fn api_key_layer(
    keys: HashMap<String, String>,
    claims: HashMap<String, String>,
    header: String,
    skip_paths: Vec<String>,
) -> PyResult<PyMiddleware> {
    let mut values = HashMap::with_capacity(keys.len() + claims.len());
    for (key, name) in keys {
        values.insert(key, serde_json::Value::String(name));
    }
    for (key, json) in claims {
        let value = serde_json::from_str(&json)
            .map_err(|error| invalid(format!("API key claims must be JSON: {error}")))?;
        values.insert(key, value);
    }
    checked(Spec::ApiKey(ApiKeyConfig {
        keys: values,
        header,
        skip_paths,
    }))
}

#[pyfunction]
#[pyo3(signature = (
    cookie_name, cookie_path, cookie_domain, cookie_secure, cookie_http_only,
    cookie_same_site, max_age, max_sessions, max_session_size, auth_keys, secret, store,
))]
#[allow(clippy::too_many_arguments)]
pub fn session_layer(
    cookie_name: String,
    cookie_path: String,
    cookie_domain: Option<String>,
    cookie_secure: bool,
    cookie_http_only: bool,
    cookie_same_site: &str,
    max_age: u64,
    max_sessions: usize,
    max_session_size: usize,
    auth_keys: Option<Vec<String>>,
    secret: Vec<u8>,
    store: StoreSpec,
) -> PyResult<PyMiddleware> {
    let cookie_same_site: SameSite = cookie_same_site
        .parse()
        .map_err(|error: cello_middleware::ConfigError| invalid(error.to_string()))?;
    checked(Spec::Session(SessionConfig {
        cookie_name,
        cookie_path,
        cookie_domain,
        cookie_secure,
        cookie_http_only,
        cookie_same_site,
        max_age,
        max_sessions,
        max_session_size,
        auth_keys,
        secret,
        store: store_config(store)?,
    }))
}

#[pyfunction]
#[pyo3(signature = (
    cookie_name, header_name, safe_methods, allowed_origins, secret, exempt_paths,
    form_field, max_form_size, cookie_secure,
))]
#[allow(clippy::too_many_arguments)]
pub fn csrf_layer(
    cookie_name: String,
    header_name: String,
    safe_methods: Option<Vec<String>>,
    allowed_origins: Option<Vec<String>>,
    secret: Vec<u8>,
    exempt_paths: Vec<String>,
    form_field: String,
    max_form_size: usize,
    cookie_secure: bool,
) -> PyResult<PyMiddleware> {
    checked(Spec::Csrf(CsrfConfig {
        cookie_name,
        header_name,
        safe_methods,
        allowed_origins,
        secret,
        exempt_paths,
        form_field,
        max_form_size,
        cookie_secure,
    }))
}

pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(jwt_layer, module)?)?;
    module.add_function(wrap_pyfunction!(basic_auth_layer, module)?)?;
    module.add_function(wrap_pyfunction!(api_key_layer, module)?)?;
    module.add_function(wrap_pyfunction!(session_layer, module)?)?;
    module.add_function(wrap_pyfunction!(csrf_layer, module)?)?;
    module.add_class::<super::session::PySession>()?;
    Ok(())
}
