//! Starting servers and in-process requests on a [`PyDriver`].

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use cello_http::{bind_tcp, HttpConfig, RequestBody, Server, ShutdownHandle};
use http::{HeaderName, HeaderValue, Method};
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::app::PyAppCore;
use crate::dispatch::{DispatchConfig, Dispatcher, Hooks};
use crate::driver::PyDriver;
use crate::errors::{bind_error, invalid};
use crate::thread_bound::ThreadBound;

/// An application ready to serve on one driver: frozen router plus hooks.
#[pyclass(name = "Engine", module = "cello._cello", frozen, weakref)]
pub struct PyEngine {
    inner: ThreadBound<EngineState>,
}

struct EngineState {
    dispatcher: Rc<Dispatcher>,
    http: HttpConfig,
}

/// A running server: its port, a way to stop it, and a future that completes when
/// it has drained.
#[pyclass(name = "Server", module = "cello._cello", frozen)]
pub struct PyServer {
    #[pyo3(get)]
    port: u16,
    #[pyo3(get)]
    host: String,
    handle: ShutdownHandle,
    closed: Py<PyAny>,
    certificates: Option<std::sync::Arc<cello_http::tls::CertificateStore>>,
}

#[pymethods]
impl PyServer {
    /// Stops accepting; in-flight requests get `shutdown_timeout` to finish.
    fn shutdown(&self) {
        self.handle.shutdown();
    }

    /// Reads the TLS certificate and key files again (after a renewal). New
    /// handshakes use them; on error the current certificate stays and this raises.
    fn reload_tls(&self) -> PyResult<()> {
        match &self.certificates {
            Some(store) => store
                .reload()
                .map_err(|error| crate::errors::TlsSetupError::new_err(error.to_string())),
            None => Err(invalid("this server does not serve TLS")),
        }
    }

    /// Whether this server speaks TLS.
    #[getter]
    fn tls(&self) -> bool {
        self.certificates.is_some()
    }

    /// An asyncio future that completes once the server has drained.
    fn wait_closed(&self, py: Python<'_>) -> Py<PyAny> {
        self.closed.clone_ref(py)
    }
}

fn seconds(config: &Bound<'_, PyAny>, name: &str) -> PyResult<Duration> {
    let value: f64 = config.getattr(name)?.extract()?;
    if !(value.is_finite() && value > 0.0) {
        return Err(invalid(format!(
            "{name} must be a positive number of seconds, got {value}"
        )));
    }
    Ok(Duration::from_secs_f64(value))
}

fn websocket_settings(
    config: &Bound<'_, PyAny>,
) -> PyResult<cello_http::websocket::WebSocketSettings> {
    let ping: Option<f64> = config.getattr("ws_ping_interval")?.extract()?;
    Ok(cello_http::websocket::WebSocketSettings {
        max_message_size: config.getattr("ws_max_message_size")?.extract()?,
        ping_interval: ping.filter(|p| *p > 0.0).map(Duration::from_secs_f64),
        idle_timeout: seconds(config, "ws_idle_timeout")?,
        inbox_capacity: 32,
        compression: if config.getattr("ws_compression")?.extract()? {
            Some(cello_http::websocket::DeflateSettings {
                level: config.getattr("ws_compression_level")?.extract()?,
                threshold: config.getattr("ws_compression_threshold")?.extract()?,
                context_takeover: config
                    .getattr("ws_compression_context_takeover")?
                    .extract()?,
                max_window_bits: 15,
            })
        } else {
            None
        },
    })
}

fn http_config(config: &Bound<'_, PyAny>) -> PyResult<HttpConfig> {
    Ok(HttpConfig {
        max_header_size: config.getattr("max_header_size")?.extract()?,
        max_body_size: config.getattr("max_body_size")?.extract()?,
        header_read_timeout: seconds(config, "header_read_timeout")?,
        keep_alive_timeout: seconds(config, "keep_alive_timeout")?,
        body_read_timeout: seconds(config, "body_read_timeout")?,
        keep_alive: config.getattr("keep_alive")?.extract()?,
        shutdown_timeout: seconds(config, "shutdown_timeout")?,
        backlog: config.getattr("backlog")?.extract()?,
        http2: config.getattr("http2")?.extract()?,
        http2_max_concurrent_streams: config.getattr("http2_max_concurrent_streams")?.extract()?,
        http2_stream_window: config.getattr("http2_stream_window")?.extract()?,
        http2_connection_window: config.getattr("http2_connection_window")?.extract()?,
        http2_keep_alive_interval: config
            .getattr("http2_keep_alive_interval")?
            .extract::<Option<f64>>()?
            .filter(|seconds| *seconds > 0.0)
            .map(Duration::from_secs_f64),
    })
}

/// `App._grpc_engine()`: the dispatcher, the message size limits (receive, send),
/// gRPC-Web, the registered method paths.
type GrpcArguments = (Py<PyAny>, usize, usize, bool, Vec<String>);

#[pymethods]
impl PyEngine {
    /// Freezes `core`'s routes into an engine that runs on `driver`.
    #[new]
    #[pyo3(signature = (driver, core, app, on_error, start_task, config, access_log, max_requests = None, on_retire = None, middleware = Vec::new(), request_logger = None, observability = None, grpc = None))]
    // pyo3 extracts `middleware` as an owned list
    #[allow(clippy::too_many_arguments, clippy::needless_pass_by_value)]
    fn new(
        py: Python<'_>,
        driver: &Bound<'_, PyDriver>,
        core: &PyAppCore,
        app: Py<PyAny>,
        on_error: Py<PyAny>,
        start_task: Py<PyAny>,
        config: &Bound<'_, PyAny>,
        access_log: bool,
        max_requests: Option<u64>,
        on_retire: Option<Py<PyAny>>,
        middleware: Vec<PyRef<'_, crate::middleware::PyMiddleware>>,
        request_logger: Option<Py<PyAny>>,
        observability: Option<PyRef<'_, crate::observability::PyObservability>>,
        grpc: Option<GrpcArguments>,
    ) -> PyResult<PyEngine> {
        let http = http_config(config)?;
        let chain = crate::middleware::build_chain(&middleware)?;
        let driver_object = driver.clone().unbind();
        let driver = driver.get().state()?;
        let python_access_log = request_logger.is_some();
        let mut dispatcher = Dispatcher::new(
            core.build_router(py)?,
            Hooks {
                on_error,
                start_task,
                app,
                on_retire,
                driver: driver_object,
                request_logger,
            },
            driver.shared.clone(),
            DispatchConfig {
                max_body_size: http.max_body_size,
                body_buffer_size: config.getattr("body_buffer_size")?.extract()?,
                websocket: websocket_settings(config)?,
                body_read_timeout: http.body_read_timeout,
                // `app.enable_logging()` writes the access log, in the app's format.
                access_log: access_log && !python_access_log,
                max_requests,
            },
            chain,
        );
        if let Some(observability) = observability {
            dispatcher.set_observability(observability.build(py)?);
        }
        if let Some((entry, max_receive, max_send, web, known)) = grpc {
            #[cfg(feature = "grpc")]
            {
                dispatcher.set_grpc(crate::grpc::GrpcHost {
                    entry,
                    max_receive,
                    max_send,
                    web,
                    known: std::sync::Arc::new(known.into_iter().collect()),
                });
            }
            #[cfg(not(feature = "grpc"))]
            {
                let _ = (entry, max_receive, max_send, web, known);
                return Err(crate::errors::invalid(
                    "gRPC needs the `grpc` feature of the native module",
                ));
            }
        }
        Ok(PyEngine {
            inner: ThreadBound::new(EngineState {
                dispatcher: Rc::new(dispatcher),
                http,
            }),
        })
    }

    /// Binds `host:port` (port 0 picks a free one) and starts serving on `driver`;
    /// with `fd`, serves an already listening socket instead (a duplicate of it: the
    /// caller keeps its own descriptor, so queued connections survive this server).
    /// `tls` is `(cert_path, key_path, client_ca_path)`.
    #[pyo3(signature = (driver, host, port, reuse_port = false, fd = None, tls = None, http3 = false, redirect_port = None))]
    #[allow(clippy::too_many_arguments)]
    fn serve(
        &self,
        py: Python<'_>,
        driver: &PyDriver,
        host: &str,
        port: u16,
        reuse_port: bool,
        fd: Option<i32>,
        tls: Option<(PathBuf, PathBuf, Option<PathBuf>)>,
        http3: bool,
        redirect_port: Option<u16>,
    ) -> PyResult<PyServer> {
        let engine = self.inner.get()?;
        let driver = driver.state()?;
        let listener = match fd {
            Some(fd) => inherited_listener(fd)?,
            None => bind_tcp(resolve(host, port)?, reuse_port, engine.http.backlog)
                .map_err(|error| bind_error(&error, host, port))?,
        };
        let bound = listener.local_addr()?;
        let mut server = Server::new(engine.http.clone());
        let mut certificates = None;
        #[cfg(feature = "http3")]
        let mut quic = None;
        if let Some((cert_path, key_path, client_ca_path)) = tls {
            let settings = cello_http::tls::TlsSettings {
                cert_path,
                key_path,
                client_ca_path,
                http2: engine.http.http2,
            };
            let (acceptor, store) = cello_http::tls::acceptor(&settings)
                .map_err(|error| crate::errors::TlsSetupError::new_err(error.to_string()))?;
            server = server.with_tls(acceptor);
            certificates = Some(store);
            #[cfg(feature = "http3")]
            if http3 {
                let _guard = driver.runtime.enter();
                let endpoint =
                    cello_http::http3::bind(bound, &settings, reuse_port || fd.is_some()).map_err(
                        |error| crate::errors::TlsSetupError::new_err(error.to_string()),
                    )?;
                let alt_svc =
                    http::HeaderValue::from_str(&format!("h3=\":{}\"; ma=86400", bound.port()))
                        .map_err(|_| invalid("invalid Alt-Svc value"))?;
                server = server.with_alt_svc(alt_svc);
                quic = Some(endpoint);
            }
        } else if http3 {
            return Err(invalid(
                "HTTP/3 needs TLS: pass tls=TlsConfig(cert_path, key_path) with http3=True",
            ));
        }
        #[cfg(not(feature = "http3"))]
        if http3 {
            return Err(invalid(
                "this build of Cello has no HTTP/3: rebuild with the cargo feature `http3`, \
                 for example `CELLO_FEATURES=http3 pip install --force-reinstall .` (docs/install.md)",
            ));
        }
        let handle = server.shutdown_handle();
        *engine.dispatcher.shutdown.borrow_mut() = Some(handle.clone());
        if let Some(plain_port) = redirect_port {
            if certificates.is_none() {
                return Err(invalid(
                    "redirect_http_port needs TLS: it sends plain-HTTP clients to the HTTPS port",
                ));
            }
            let plain = bind_tcp(
                resolve(host, plain_port)?,
                reuse_port || fd.is_some(),
                engine.http.backlog,
            )
            .map_err(|error| bind_error(&error, host, plain_port))?;
            let redirect = Server::new(engine.http.clone());
            let stop = redirect.shutdown_handle();
            let mut stopping = handle.subscribe();
            let _guard = driver.runtime.enter();
            driver.local.spawn_local(async move {
                let _ = stopping.wait_for(|stopping| *stopping).await;
                stop.shutdown();
            });
            let target = std::rc::Rc::new(cello_http::RedirectToHttps {
                https_port: bound.port(),
            });
            driver.local.spawn_local(async move {
                let _ = redirect.serve(plain, target).await;
            });
        }
        // The worker is done when both listeners have drained: the HTTP/3 one is
        // awaited after the TCP one.
        #[cfg(feature = "http3")]
        let quic_task = quic.map(|endpoint| {
            let dispatcher = engine.dispatcher.clone();
            let config = std::rc::Rc::new(engine.http.clone());
            let shutdown = handle.subscribe();
            let _guard = driver.runtime.enter();
            driver.local.spawn_local(cello_http::http3::serve(
                endpoint, dispatcher, config, shutdown,
            ))
        });
        let closed = driver.create_future(py)?;
        let closed_for_task = closed.clone_ref(py);
        let dispatcher = engine.dispatcher.clone();
        let shared = driver.shared.clone();
        let _guard = driver.runtime.enter();
        driver.local.spawn_local(async move {
            let result = server.serve(listener, dispatcher).await;
            #[cfg(feature = "http3")]
            if let Some(quic_task) = quic_task {
                let _ = quic_task.await;
            }
            Python::attach(|py| {
                let future = closed_for_task.bind(py);
                if !future
                    .call_method0(intern!(py, "done"))
                    .and_then(|d| d.is_truthy())
                    .unwrap_or(true)
                {
                    let outcome = match result {
                        Ok(()) => future.call_method1(intern!(py, "set_result"), (py.None(),)),
                        Err(error) => future.call_method1(
                            intern!(py, "set_exception"),
                            (PyErr::from(error).value(py),),
                        ),
                    };
                    if let Err(error) = outcome {
                        error.print(py);
                    }
                }
                shared.after_python(py);
            });
        });
        Ok(PyServer {
            port: bound.port(),
            host: host.to_owned(),
            handle,
            closed,
            certificates,
        })
    }

    /// Drops the cached responses tagged with any of `tags` (`app.invalidate_cache`);
    /// whether this engine has a response cache.
    fn invalidate_cache(&self, py: Python<'_>, tags: Vec<String>) -> PyResult<bool> {
        let engine = self.inner.get()?;
        let dispatcher = engine.dispatcher.clone();
        let driver = dispatcher.hooks.driver.clone_ref(py);
        let driver = driver.bind(py).get().state()?;
        Ok(crate::middleware::invalidate_cache(
            &dispatcher,
            driver,
            tags,
        ))
    }

    /// Sends one request through `engine` without a socket; returns an asyncio future
    /// of `(status, [(name, value)], body, peer)`, where `peer` is the client's end of
    /// an accepted WebSocket handshake (else `None`).
    #[pyo3(signature = (driver, method, target, headers, body))]
    fn request(
        &self,
        py: Python<'_>,
        driver: &PyDriver,
        method: &str,
        target: &str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> PyResult<Py<PyAny>> {
        let engine = self.inner.get()?;
        let driver = driver.state()?;
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| invalid(format!("invalid method {method:?}")))?;
        let is_head = method == Method::HEAD;
        let mut request = http::Request::builder()
            .method(method)
            .uri(target)
            .body(RequestBody::Full(Bytes::from(body)))
            .map_err(|error| PyValueError::new_err(format!("invalid request: {error}")))?;
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(format!("invalid header name {name:?}")))?;
            let value = HeaderValue::from_str(&value)
                .map_err(|_| invalid(format!("invalid value for header {name}")))?;
            request.headers_mut().append(name, value);
        }
        let peer = crate::handshake::TestPeerSlot::default();
        request.extensions_mut().insert(peer.clone());
        let future = driver.create_future(py)?;
        let future_for_task = future.clone_ref(py);
        let dispatcher = engine.dispatcher.clone();
        let shared = driver.shared.clone();
        let _guard = driver.runtime.enter();
        driver.local.spawn_local(async move {
            let mut response = dispatcher.serve(request, None).await;
            if is_head {
                // As the listeners do: the test client sees what a real client would.
                cello_http::strip_body(&mut response);
            }
            let (parts, body) = response.into_parts();
            let body = body.collect_bytes().await;
            Python::attach(|py| {
                let future = future_for_task.bind(py);
                let outcome = match body {
                    Ok(body) => {
                        let headers = PyList::empty(py);
                        for (name, value) in &parts.headers {
                            let pair = (
                                name.as_str(),
                                String::from_utf8_lossy(value.as_bytes()).into_owned(),
                            );
                            let _ = headers.append(pair);
                        }
                        let result = PyTuple::new(
                            py,
                            [
                                parts
                                    .status
                                    .as_u16()
                                    .into_pyobject(py)
                                    .map(|v| v.into_any()),
                                Ok(headers.into_any()),
                                Ok(PyBytes::new(py, &body).into_any()),
                                Ok(peer
                                    .0
                                    .lock()
                                    .ok()
                                    .and_then(|mut slot| slot.take())
                                    .map_or_else(|| py.None(), |peer| peer.into_any())
                                    .into_bound(py)),
                            ]
                            .into_iter()
                            .map(|item| item.expect("plain conversions")),
                        );
                        result.and_then(|result| {
                            future.call_method1(intern!(py, "set_result"), (result,))
                        })
                    }
                    Err(error) => future.call_method1(
                        intern!(py, "set_exception"),
                        (pyo3::exceptions::PyRuntimeError::new_err(error.to_string()).value(py),),
                    ),
                };
                if let Err(error) = outcome {
                    error.print(py);
                }
                shared.after_python(py);
            });
        });
        Ok(future)
    }
}

fn inherited_listener(fd: i32) -> PyResult<std::net::TcpListener> {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: `dup` of a descriptor the caller owns and keeps open for this call.
    let copy = unsafe { libc::dup(fd) };
    if copy < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: `copy` is a fresh descriptor that nothing else owns.
    let listener = std::net::TcpListener::from(unsafe { OwnedFd::from_raw_fd(copy) });
    listener.set_nonblocking(true)?;
    Ok(listener)
}

fn resolve(host: &str, port: u16) -> PyResult<SocketAddr> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (host, port)
        .to_socket_addrs()
        .map_err(|error| invalid(format!("cannot resolve host {host:?}: {error}")))?
        .next()
        .ok_or_else(|| invalid(format!("host {host:?} has no address")))
}
