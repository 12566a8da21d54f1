//! The `Request` handlers receive: lazy, so nothing becomes a Python object until read.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use cello_router::ParamValue;
use http::{HeaderMap, Method, Uri, Version};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::datastructures::{PyHeaders, PyQueryParams};
use crate::errors::InvalidJsonError;

/// A path parameter after routing, owned by the request.
#[derive(Debug, Clone)]
pub enum OwnedParam {
    Str(String),
    Int(i64),
    Float(f64),
    Uuid(String),
}

impl OwnedParam {
    pub fn from_router(value: &ParamValue<'_>) -> Self {
        match value {
            ParamValue::Str(text) | ParamValue::Path(text) => Self::Str(text.to_string()),
            ParamValue::Int(number) => Self::Int(*number),
            ParamValue::Float(number) => Self::Float(*number),
            ParamValue::Uuid(text) => Self::Uuid(text.to_string()),
        }
    }

    fn to_python<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self {
            Self::Str(text) => PyString::new(py, text).into_any(),
            Self::Int(number) => number.into_pyobject(py)?.into_any(),
            Self::Float(number) => number.into_pyobject(py)?.into_any(),
            Self::Uuid(text) => py
                .import(intern!(py, "uuid"))?
                .getattr(intern!(py, "UUID"))?
                .call1((text.as_str(),))?,
        })
    }
}

/// An HTTP request, as handlers see it.
///
/// Attributes are computed from the Rust-side request the first time they are read
/// and cached on the object.
#[pyclass(name = "Request", module = "cello._cello", frozen, weakref)]
pub struct PyRequest {
    pub method: Method,
    pub uri: Uri,
    pub version: Version,
    pub headers: Arc<HeaderMap>,
    pub body: Bytes,
    pub params: Vec<(Box<str>, OwnedParam)>,
    pub peer: Option<SocketAddr>,
    pub secure: bool,
    pub app: Option<Py<PyAny>>,
    /// Set by the request-id middleware.
    pub request_id: Option<http::HeaderValue>,
    /// The server span's ids when tracing is on (`app.enable_telemetry`).
    pub trace: Option<cello_observability::TraceIds>,
    /// A sampled request's steps, for child spans of its server span.
    pub phases: Option<cello_observability::Phases>,
    /// Set by the authentication middleware: the JWT claims, or the Basic/API-key user.
    auth_claims: Option<serde_json::Value>,
    /// Set by the session middleware.
    session: Option<cello_middleware::SessionHandle>,
    /// Set by the CSRF middleware: the token to put in forms.
    csrf_token: Option<String>,
    cache: RequestCache,
    /// `BackgroundTasks` created while this request was being handled.
    background: std::sync::Mutex<Vec<Py<PyAny>>>,
    /// The part of the body not read in advance (large or long chunked bodies).
    pending: std::sync::Mutex<Option<cello_http::BodyChunks>>,
    /// Whether `body` holds the whole body.
    pub complete: bool,
    /// Whether `stream()` has handed out the buffered body already.
    pub streamed: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct RequestCache {
    params: OnceLock<Py<PyDict>>,
    query: OnceLock<Py<PyQueryParams>>,
    headers: OnceLock<Py<PyHeaders>>,
    cookies: OnceLock<Py<PyDict>>,
    json: OnceLock<Py<PyAny>>,
    state: OnceLock<Py<PyAny>>,
    user: OnceLock<Py<PyAny>>,
    context: OnceLock<Py<PyDict>>,
    /// The `opentelemetry` context of the request's span, built on first use.
    otel_context: OnceLock<Py<PyAny>>,
}

impl PyRequest {
    fn app_attribute<'py>(
        &self,
        py: Python<'py>,
        name: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match &self.app {
            Some(app) => app.bind(py).getattr(name),
            None => Err(pyo3::exceptions::PyAttributeError::new_err(format!(
                "request.{name} is the app's, and this request has no app"
            ))),
        }
    }

    /// Wraps a routed request.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        mut parts: http::request::Parts,
        body: Bytes,
        params: Vec<(Box<str>, OwnedParam)>,
        peer: Option<SocketAddr>,
        secure: bool,
        app: Option<Py<PyAny>>,
    ) -> Self {
        let extensions = &mut parts.extensions;
        // What the middleware and a sampled span left (most requests: nothing, and
        // then nothing is looked up).
        let (request_id, phases, auth_claims, session, csrf_token) = if extensions.is_empty() {
            (None, None, None, None, None)
        } else {
            (
                extensions
                    .remove::<cello_middleware::RequestIdValue>()
                    .map(|id| id.0),
                extensions.remove::<cello_observability::Phases>(),
                extensions
                    .remove::<cello_middleware::AuthClaims>()
                    .map(|claims| claims.0),
                extensions.remove::<cello_middleware::SessionHandle>(),
                extensions
                    .remove::<cello_middleware::CsrfToken>()
                    .map(|token| token.0),
            )
        };
        Self {
            request_id,
            // Set by the dispatcher, which has the server span.
            trace: None,
            phases,
            auth_claims,
            session,
            csrf_token,
            method: parts.method,
            uri: parts.uri,
            version: parts.version,
            headers: Arc::new(parts.headers),
            body,
            params,
            peer,
            secure,
            app,
            cache: RequestCache::default(),
            background: std::sync::Mutex::new(Vec::new()),
            pending: std::sync::Mutex::new(None),
            complete: true,
            streamed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Marks the body as not (entirely) read yet: the rest comes from `chunks`.
    pub fn set_pending(&mut self, chunks: Option<cello_http::BodyChunks>) {
        self.complete = chunks.is_none();
        self.pending = std::sync::Mutex::new(chunks);
    }

    /// The unread rest of the body, if any, for streaming or form parsing.
    pub fn take_pending(&self) -> Option<cello_http::BodyChunks> {
        self.pending
            .lock()
            .ok()
            .and_then(|mut pending| pending.take())
    }

    /// Puts back what `take_pending` took (after reading one chunk).
    pub fn restore_pending(&self, chunks: cello_http::BodyChunks) {
        if let Ok(mut pending) = self.pending.lock() {
            *pending = Some(chunks);
        }
    }

    /// The `Content-Type` header as text.
    pub fn content_type_text(&self) -> Option<String> {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    }

    fn require_complete(&self) -> PyResult<()> {
        if self.complete {
            return Ok(());
        }
        Err(crate::errors::BodyNotReadError::new_err(
            "this request's body is larger than ServerConfig.body_buffer_size, so it was not \
             read in advance; read it with `async for chunk in request.stream()` or \
             `await request.form()`, or raise body_buffer_size",
        ))
    }

    /// Takes the background tasks registered so far.
    pub fn take_background(&self) -> Vec<Py<PyAny>> {
        self.background
            .lock()
            .map(|mut tasks| std::mem::take(&mut *tasks))
            .unwrap_or_default()
    }

    fn host(&self) -> &str {
        self.uri
            .authority()
            .map(http::uri::Authority::as_str)
            .or_else(|| {
                self.headers
                    .get(http::header::HOST)
                    .and_then(|h| h.to_str().ok())
            })
            .unwrap_or("localhost")
    }
}

fn cached<'py, T>(
    py: Python<'py>,
    cell: &OnceLock<Py<T>>,
    make: impl FnOnce() -> PyResult<Bound<'py, T>>,
) -> PyResult<Bound<'py, T>> {
    if let Some(value) = cell.get() {
        return Ok(value.bind(py).clone());
    }
    let value = make()?;
    // Another thread (a blocking handler) may have won the race; both values are equal.
    let _ = cell.set(value.clone().unbind());
    Ok(value)
}

#[pymethods]
impl PyRequest {
    /// Who the authentication middleware (`enable_jwt`, `enable_basic_auth`,
    /// `enable_api_key`) found: the token's claims as a dict, or `None`.
    #[getter]
    fn user(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if let Some(user) = self.cache.user.get() {
            return Ok(user.clone_ref(py));
        }
        let user = match &self.auth_claims {
            None => py.None(),
            Some(claims) => {
                let bytes = serde_json::to_vec(claims)
                    .map_err(|error| pyo3::exceptions::PyValueError::new_err(error.to_string()))?;
                crate::json::decode(py, &bytes)?.unbind()
            }
        };
        Ok(self.cache.user.get_or_init(|| user).clone_ref(py))
    }

    /// A dict for the request's context: ``context["user"]`` is `user` (what guards
    /// read); handlers and middleware may add their own keys.
    #[getter]
    fn context(&self, py: Python<'_>) -> PyResult<Py<PyDict>> {
        if let Some(context) = self.cache.context.get() {
            return Ok(context.clone_ref(py));
        }
        let context = PyDict::new(py);
        let user = self.user(py)?;
        if !user.is_none(py) {
            context.set_item("user", user)?;
        }
        Ok(self
            .cache
            .context
            .get_or_init(|| context.unbind())
            .clone_ref(py))
    }

    /// The session (``app.enable_session(...)``), a dict-like object saved after the
    /// response when changed.
    #[getter]
    fn session(&self) -> PyResult<crate::middleware::session::PySession> {
        match &self.session {
            Some(handle) => Ok(crate::middleware::session::PySession::new(handle.clone())),
            None => Err(pyo3::exceptions::PyRuntimeError::new_err(
                "request.session needs the session middleware: \
                 app.enable_session(SessionConfig(secret=...))",
            )),
        }
    }

    /// The CSRF token for forms and the ``X-CSRF-Token`` header
    /// (``app.enable_csrf(...)``), `None` without the CSRF middleware.
    #[getter]
    fn csrf_token(&self) -> Option<&str> {
        self.csrf_token.as_deref()
    }

    /// The request id given by the request-id middleware (`app.enable_request_id()`),
    /// `None` when it is not enabled.
    #[getter]
    fn request_id(&self) -> Option<&str> {
        self.request_id.as_ref().and_then(|id| id.to_str().ok())
    }

    /// The trace id (32 hex digits) of the request's server span when tracing is on
    /// (`app.enable_telemetry()`), else `None`.
    #[getter]
    fn trace_id(&self) -> Option<String> {
        self.trace
            .as_ref()
            .map(cello_observability::TraceIds::trace_hex)
    }

    /// The span id (16 hex digits) of the request's server span, or `None`.
    #[getter]
    fn span_id(&self) -> Option<String> {
        self.trace
            .as_ref()
            .map(cello_observability::TraceIds::span_hex)
    }

    /// The Python `opentelemetry` context of the request's server span:
    /// `build(trace_id, span_id, sampled)` on the first call, the same object after;
    /// `None` without a span. For `RequestRuntimeContext`, not for applications.
    fn _otel_context(
        &self,
        py: Python<'_>,
        build: &Bound<'_, PyAny>,
    ) -> PyResult<Option<Py<PyAny>>> {
        let Some(ids) = self.trace else {
            return Ok(None);
        };
        if let Some(context) = self.cache.otel_context.get() {
            return Ok(Some(context.clone_ref(py)));
        }
        let context = build
            .call1((ids.trace_id, ids.span_id, ids.sampled))?
            .unbind();
        Ok(Some(
            self.cache
                .otel_context
                .get_or_init(|| context)
                .clone_ref(py),
        ))
    }

    /// The HTTP method, upper case (`"GET"`).
    #[getter]
    fn method<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        match self.method {
            Method::GET => intern!(py, "GET").clone(),
            Method::POST => intern!(py, "POST").clone(),
            _ => PyString::new(py, self.method.as_str()),
        }
    }

    /// The path, still percent-encoded as it arrived (`"/users/42"`).
    #[getter]
    fn path(&self) -> &str {
        self.uri.path()
    }

    /// The raw query string without `?` (`"a=1&b=2"`, `""` when absent).
    #[getter]
    fn query_string(&self) -> &str {
        self.uri.query().unwrap_or("")
    }

    /// The full URL (`"http://localhost:8000/users/42?a=1"`).
    #[getter]
    fn url(&self) -> String {
        let scheme = if self.secure { "https" } else { "http" };
        let path_and_query = self.uri.path_and_query().map_or("/", |p| p.as_str());
        format!("{scheme}://{}{path_and_query}", self.host())
    }

    /// `"http"` or `"https"`.
    #[getter]
    fn scheme(&self) -> &'static str {
        if self.secure {
            "https"
        } else {
            "http"
        }
    }

    /// The HTTP version (`"1.1"`).
    #[getter]
    fn http_version(&self) -> &'static str {
        match self.version {
            Version::HTTP_09 => "0.9",
            Version::HTTP_10 => "1.0",
            Version::HTTP_2 => "2",
            Version::HTTP_3 => "3",
            _ => "1.1",
        }
    }

    /// Path parameters by name, percent-decoded; converters (`{id:int}`) give their types.
    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        cached(py, &self.cache.params, || {
            let dict = PyDict::new(py);
            for (name, value) in &self.params {
                dict.set_item(name.as_ref(), value.to_python(py)?)?;
            }
            Ok(dict)
        })
    }

    /// Same as `params` (Starlette's name).
    #[getter]
    fn path_params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.params(py)
    }

    /// Query parameters, multi-valued: `query["a"]` is the last value, `query.getlist("a")` all.
    #[getter]
    fn query<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyQueryParams>> {
        cached(py, &self.cache.query, || {
            Bound::new(py, PyQueryParams::parse(self.uri.query().unwrap_or("")))
        })
    }

    /// Same as `query` (Starlette's name).
    #[getter]
    fn query_params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyQueryParams>> {
        self.query(py)
    }

    /// Request headers: case-insensitive, multi-valued (`headers.getlist("accept")`).
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyHeaders>> {
        cached(py, &self.cache.headers, || {
            Bound::new(py, PyHeaders::new(self.headers.clone()))
        })
    }

    /// Cookies sent by the client, by name.
    #[getter]
    fn cookies<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        cached(py, &self.cache.cookies, || {
            let dict = PyDict::new(py);
            for header in self.headers.get_all(http::header::COOKIE) {
                let Ok(text) = header.to_str() else { continue };
                for (name, value) in cello_http::cookies::parse(text) {
                    dict.set_item(name, value.as_ref())?;
                }
            }
            Ok(dict)
        })
    }

    /// The client's address as `(host, port)`, with `.host` and `.port`; `None` in-process.
    #[getter]
    fn client<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(peer) = self.peer else {
            return Ok(None);
        };
        let address = py
            .import(intern!(py, "cello.datastructures"))?
            .getattr(intern!(py, "Address"))?;
        Ok(Some(address.call1((peer.ip().to_string(), peer.port()))?))
    }

    /// The `App` that is serving this request.
    #[getter]
    fn app<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        self.app.as_ref().map(|app| app.bind(py).clone())
    }

    /// The app's database (`app.database`), looked up when read: requests that do not
    /// use it pay nothing.
    #[getter]
    fn db<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.app_attribute(py, intern!(py, "database"))
    }

    /// The same as `db`.
    #[getter]
    fn database<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.app_attribute(py, intern!(py, "database"))
    }

    /// The app's Redis connection (`app.redis`), looked up when read.
    #[getter]
    fn redis<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.app_attribute(py, intern!(py, "redis"))
    }

    /// Per-request storage: set any attribute (`request.state.user = ...`).
    #[getter]
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        cached(py, &self.cache.state, || {
            py.import(intern!(py, "types"))?
                .getattr(intern!(py, "SimpleNamespace"))?
                .call0()
        })
    }

    /// The raw body as bytes.
    fn body<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        self.require_complete()?;
        Ok(PyBytes::new(py, &self.body))
    }

    /// The body decoded as text: the charset of `Content-Type`, UTF-8 by default.
    /// Undecodable bytes raise `UnicodeDecodeError`.
    fn text<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.require_complete()?;
        let charset = self
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                value.split(';').skip(1).find_map(|parameter| {
                    let (name, value) = parameter.split_once('=')?;
                    name.trim()
                        .eq_ignore_ascii_case("charset")
                        .then(|| value.trim().trim_matches('"').to_owned())
                })
            })
            .unwrap_or_else(|| "utf-8".to_owned());
        PyBytes::new(py, &self.body).call_method1(intern!(py, "decode"), (charset,))
    }

    /// The body parsed as JSON (in Rust). Invalid JSON raises `InvalidJSON`, which
    /// the framework answers with a 400 problem+json if the handler lets it through.
    fn json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if let Some(value) = self.cache.json.get() {
            return Ok(value.bind(py).clone());
        }
        self.require_complete()?;
        if self.body.is_empty() {
            return Err(InvalidJsonError::new_err(
                "the request has no body; send a JSON document",
            ));
        }
        let started = self.phases.as_ref().map(|_| std::time::SystemTime::now());
        let value = crate::json::decode(py, &self.body);
        if let (Some(phases), Some(started)) = (&self.phases, started) {
            phases.record("cello.decode_json", started);
        }
        let value = value.map_err(|error| {
            InvalidJsonError::new_err(format!("the request body is not valid JSON: {error}"))
        })?;
        let _ = self.cache.json.set(value.clone().unbind());
        Ok(value)
    }

    /// The `Content-Type` header, or `None`.
    #[getter]
    fn content_type(&self) -> Option<&str> {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
    }

    fn __repr__(&self) -> String {
        format!("<Request {} {}>", self.method, self.uri)
    }

    /// The body in chunks, as an async iterator: `async for chunk in request.stream()`.
    /// A large upload is read as it arrives, never held whole in memory.
    fn stream<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        py.import(intern!(py, "cello.forms"))?
            .call_method1(intern!(py, "stream_body"), (slf,))
    }

    /// The form (urlencoded or multipart), awaited: `form = await request.form()`.
    fn form<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        py.import(intern!(py, "cello.forms"))?
            .call_method1(intern!(py, "read_form"), (slf,))
    }

    /// The uploaded files of a multipart form, awaited: `files = await request.files()`.
    fn files<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        py.import(intern!(py, "cello.forms"))?
            .call_method1(intern!(py, "read_files"), (slf,))
    }

    /// Registers `tasks` to run after this request's response has been sent (called
    /// by `BackgroundTasks()`; not for direct use).
    fn _add_background(&self, tasks: Py<PyAny>) {
        if let Ok(mut registered) = self.background.lock() {
            registered.push(tasks);
        }
    }
}
