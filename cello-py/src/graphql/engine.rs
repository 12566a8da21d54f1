//! `GraphQLEngine`: a built schema; executions are tasks on the worker's Tokio runtime
//! that settle an asyncio future (`cello.graphql` wraps it).

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use cello_protocols::graphql::http::{self, HttpRequest, Prepared};
use cello_protocols::graphql::{response_json, Engine};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

use super::describe;
use super::host::{PyHost, RequestContext};
use super::stream;
use crate::driver::PyDriver;
use crate::request::PyRequest;

#[pyclass(name = "GraphQLEngine", module = "cello._cello", frozen)]
pub struct PyGraphQLEngine {
    engine: Arc<Engine<PyHost>>,
    batching: bool,
    /// Resolver spans for sampled requests (`GraphQLConfig(tracing=True)`).
    tracing: bool,
}

/// An HTTP answer for Python: `(status, content_type, body, allow)`.
type HttpAnswer = (u16, &'static str, Vec<u8>, Option<&'static str>);

#[pymethods]
impl PyGraphQLEngine {
    #[new]
    #[pyo3(signature = (description, resolvers, type_of, public_error, *, batching=false, mask_errors=false, tracing=false))]
    fn new(
        description: &Bound<'_, PyDict>,
        resolvers: Vec<Py<PyAny>>,
        type_of: Py<PyAny>,
        public_error: Py<PyAny>,
        batching: bool,
        mask_errors: bool,
        tracing: bool,
    ) -> PyResult<Self> {
        let spec = describe::schema(description)?;
        let host = PyHost {
            resolvers,
            type_of,
            mask_errors,
            public_error,
            sources: Vec::new(),
        };
        let engine =
            Engine::new(&spec, host).map_err(|error| crate::errors::invalid(error.to_string()))?;
        Ok(Self {
            engine: Arc::new(engine),
            batching,
            tracing,
        })
    }

    /// The schema in SDL.
    fn sdl(&self) -> String {
        self.engine.sdl()
    }

    /// Runs one operation; `future` gets the response as JSON bytes.
    #[pyo3(signature = (future, driver, start_task, query, variables, operation_name, context))]
    #[allow(clippy::too_many_arguments)]
    fn execute(
        &self,
        py: Python<'_>,
        future: Py<PyAny>,
        driver: Py<PyDriver>,
        start_task: Py<PyAny>,
        query: String,
        variables: Option<&Bound<'_, PyAny>>,
        operation_name: Option<String>,
        context: Py<PyAny>,
    ) -> PyResult<()> {
        let mut request = async_graphql::Request::new(query);
        if let Some(variables) = variables.filter(|v| !v.is_none()) {
            let json = crate::json::encode(variables)?;
            let value: serde_json::Value = serde_json::from_slice(&json)
                .map_err(|error| crate::errors::invalid(error.to_string()))?;
            request = request.variables(async_graphql::Variables::from_json(value));
        }
        if let Some(name) = operation_name {
            request = request.operation_name(name);
        }
        let engine = self.engine.clone();
        let context = self.request_context(py, context, start_task, driver);
        let driver = context.driver.clone_ref(py);
        spawn(&driver, future, async move {
            let response = engine.execute(request, context).await;
            move |py: Python<'_>| {
                Ok(PyBytes::new(py, &response_json(&response))
                    .into_any()
                    .unbind())
            }
        })
    }

    /// Answers a GraphQL-over-HTTP request; `future` gets `(status, content_type, body, allow)`.
    #[pyo3(signature = (future, driver, start_task, method, content_type, accept, query_string, body, context))]
    #[allow(clippy::too_many_arguments)]
    fn serve_http(
        &self,
        py: Python<'_>,
        future: Py<PyAny>,
        driver: Py<PyDriver>,
        start_task: Py<PyAny>,
        method: &str,
        content_type: Option<&str>,
        accept: Option<&str>,
        query_string: &str,
        body: &[u8],
        context: Py<PyAny>,
    ) -> PyResult<()> {
        let method = ::http::Method::from_bytes(method.as_bytes())
            .map_err(|error| crate::errors::invalid(error.to_string()))?;
        let prepared = http::prepare(
            &HttpRequest {
                method: &method,
                content_type,
                accept,
                query_string,
                body,
            },
            self.batching,
        );
        let engine = self.engine.clone();
        let context = self.request_context(py, context, start_task, driver);
        let driver = context.driver.clone_ref(py);
        spawn(&driver, future, async move {
            let answer: HttpAnswer = match prepared {
                Prepared::Answer(answer) => (
                    answer.status.as_u16(),
                    answer.content_type,
                    answer.body,
                    answer.allow,
                ),
                Prepared::Execute {
                    requests,
                    batch,
                    media,
                } => {
                    let mut responses = Vec::with_capacity(requests.len());
                    for request in requests {
                        let context = Python::attach(|py| context.share(py));
                        responses.push(engine.execute(request, context).await);
                    }
                    let answer = http::finish(media, batch, &responses);
                    (
                        answer.status.as_u16(),
                        answer.content_type,
                        answer.body,
                        answer.allow,
                    )
                }
            };
            move |py: Python<'_>| {
                let (status, content_type, body, allow) = answer;
                let items = (status, content_type, PyBytes::new(py, &body), allow);
                Ok(PyTuple::new(
                    py,
                    [
                        items.0.into_pyobject(py)?.into_any(),
                        items.1.into_pyobject(py)?.into_any(),
                        items.2.into_any(),
                        items.3.into_pyobject(py)?.into_any(),
                    ],
                )?
                .into_any()
                .unbind())
            }
        })
    }

    /// Starts one operation of a GraphQL-over-SSE request: a `GraphQLStream` handing
    /// `sink` its events (bytes), or `(status, content_type, body, allow)` for a
    /// malformed request.
    #[pyo3(signature = (sink, driver, start_task, method, content_type, query_string, body, context))]
    #[allow(clippy::too_many_arguments)]
    fn serve_sse(
        &self,
        py: Python<'_>,
        sink: Py<PyAny>,
        driver: Py<PyDriver>,
        start_task: Py<PyAny>,
        method: &str,
        content_type: Option<&str>,
        query_string: &str,
        body: &[u8],
        context: Py<PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let method = ::http::Method::from_bytes(method.as_bytes())
            .map_err(|error| crate::errors::invalid(error.to_string()))?;
        let request = HttpRequest {
            method: &method,
            content_type,
            accept: None,
            query_string,
            body,
        };
        let request = match http::prepare_stream(&request) {
            Ok(request) => request,
            Err(answer) => return stream::answer(py, &answer),
        };
        let context = self.request_context(py, context, start_task, driver);
        let started = stream::serve_sse(&self.engine, request, sink, context)?;
        Ok(Py::new(py, started)?.into_any())
    }

    /// Starts a WebSocket connection speaking `protocol` (`graphql-transport-ws` or
    /// `graphql-ws`): a `GraphQLStream` to `feed()` the client's text messages, handing
    /// `sink` the messages to send; `None` for another subprotocol.
    #[pyo3(signature = (protocol, sink, driver, start_task, context))]
    fn serve_websocket(
        &self,
        py: Python<'_>,
        protocol: &str,
        sink: Py<PyAny>,
        driver: Py<PyDriver>,
        start_task: Py<PyAny>,
        context: Py<PyAny>,
    ) -> PyResult<Option<Py<stream::PyGraphQLStream>>> {
        let context = self.request_context(py, context, start_task, driver);
        stream::serve_websocket(&self.engine, protocol, sink, context)?
            .map(|started| Py::new(py, started))
            .transpose()
    }
}

impl PyGraphQLEngine {
    /// The engine's side of a request's context: with tracing on, the steps of a sampled
    /// request (`context.request`, a Cello request) for resolver spans.
    fn request_context(
        &self,
        py: Python<'_>,
        context: Py<PyAny>,
        start_task: Py<PyAny>,
        driver: Py<PyDriver>,
    ) -> RequestContext {
        let phases = if self.tracing {
            context
                .bind(py)
                .getattr(intern!(py, "request"))
                .ok()
                .and_then(|request| {
                    let request = request.cast::<PyRequest>().ok()?;
                    request.get().phases.clone()
                })
        } else {
            None
        };
        RequestContext {
            context,
            start_task,
            driver,
            phases,
        }
    }
}

/// Runs `work` on the driver's runtime; its result converts (with the GIL) into the
/// value that settles `future`, unless the future was cancelled meanwhile.
///
/// `work` is polled once at once: an operation whose resolvers are all synchronous
/// (or already settled) finishes in that poll, `future` is settled before this returns,
/// and the handler's `await` goes on without a trip through the event loop.
fn spawn<C>(
    driver: &Py<PyDriver>,
    future: Py<PyAny>,
    work: impl Future<Output = C> + 'static,
) -> PyResult<()>
where
    C: FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + 'static,
{
    let state = driver.get().state()?;
    let shared = state.shared.clone();
    let _guard = state.runtime.enter();
    let mut work = Box::pin(work);
    if let Poll::Ready(convert) = work.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Python::attach(|py| settle(py, &future, convert));
        return Ok(());
    }
    // Polled again by the local set (which registers the real waker) before it waits.
    state.local.spawn_local(async move {
        let convert = work.await;
        Python::attach(|py| {
            settle(py, &future, convert);
            shared.after_python(py);
        });
    });
    Ok(())
}

fn settle(
    py: Python<'_>,
    future: &Py<PyAny>,
    convert: impl FnOnce(Python<'_>) -> PyResult<Py<PyAny>>,
) {
    let future = future.bind(py);
    let settled = (|| -> PyResult<()> {
        if future.call_method0(intern!(py, "done"))?.is_truthy()? {
            return Ok(());
        }
        match convert(py) {
            Ok(value) => future.call_method1(intern!(py, "set_result"), (value,))?,
            Err(error) => {
                future.call_method1(intern!(py, "set_exception"), (error.into_value(py),))?
            }
        };
        Ok(())
    })();
    if let Err(error) = settled {
        error.print(py);
    }
}
