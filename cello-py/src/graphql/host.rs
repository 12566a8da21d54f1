//! Python resolvers behind the engine's `Host`: sync resolvers are called inline, async
//! ones run as tasks of the worker's asyncio loop while the engine awaits them without
//! the GIL; plain fields are read (dict key or attribute) with one GIL hold per field.

use std::sync::Mutex;
use std::time::SystemTime;

use async_graphql::futures_util::future::BoxFuture;
use async_graphql::futures_util::FutureExt;
use cello_observability::Phases;
use cello_protocols::graphql::{
    Call, Host, Node, Output, Selection, Shape, SubscriptionStream, Value,
};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use tokio::sync::oneshot;

use super::convert::{to_output, to_python};
use super::project::project_output;
use super::subscription::Source;
use crate::driver::PyDriver;

/// Per request: the user's context object, and how to start tasks on this worker's loop.
pub struct RequestContext {
    pub context: Py<PyAny>,
    pub start_task: Py<PyAny>,
    pub driver: Py<PyDriver>,
    /// A sampled request's steps when the schema traces: each resolver call is one.
    pub phases: Option<Phases>,
}

impl RequestContext {
    /// Another handle on the same context (one per operation of a batch).
    pub fn share(&self, py: Python<'_>) -> Self {
        Self {
            context: self.context.clone_ref(py),
            start_task: self.start_task.clone_ref(py),
            driver: self.driver.clone_ref(py),
            phases: self.phases.clone(),
        }
    }

    /// A `graphql.resolve` span for the resolver call of `call` that started at `started`.
    fn traced(&self, call: &Call<'_>, started: Option<SystemTime>) {
        if let (Some(phases), Some(started)) = (&self.phases, started) {
            let attributes = vec![
                ("graphql.field.name", call.field.to_owned()),
                ("graphql.field.path", call.path.clone()),
                ("graphql.parent.name", call.parent_type.to_owned()),
            ];
            phases.record_with("graphql.resolve", started, attributes);
        }
    }

    /// asyncio must run what Python code just scheduled (a task, a `call_soon`).
    fn after_python(&self, py: Python<'_>) {
        if let Ok(state) = self.driver.get().state() {
            state.shared.after_python(py);
        }
    }
}

pub struct PyHost {
    /// `resolver(parent, arguments, context, field_name, path)`, built by `cello.graphql`.
    pub resolvers: Vec<Py<PyAny>>,
    /// `type_of(object) -> str`: the concrete type of an interface or union value.
    pub type_of: Py<PyAny>,
    /// Production mode: resolver exceptions other than `GraphQLError`s become
    /// "Internal server error" (the traceback goes to stderr).
    pub mask_errors: bool,
    pub public_error: Py<PyAny>,
    /// The plain fields' attribute names, interned (`Host::sources`).
    pub sources: Vec<Py<PyString>>,
}

/// Completes a oneshot channel when an asyncio task finishes (its done-callback).
#[pyclass(module = "cello._cello")]
pub struct TaskSettled {
    sender: Mutex<Option<oneshot::Sender<()>>>,
}

impl TaskSettled {
    pub fn new(sender: oneshot::Sender<()>) -> Self {
        Self {
            sender: Mutex::new(Some(sender)),
        }
    }
}

#[pymethods]
impl TaskSettled {
    fn __call__(&self, _task: &Bound<'_, PyAny>) {
        let sender = self.sender.lock().ok().and_then(|mut slot| slot.take());
        if let Some(sender) = sender {
            let _ = sender.send(());
        }
    }
}

enum Step {
    Done(Output<Py<PyAny>>),
    Running(Py<PyAny>, oneshot::Receiver<()>),
}

/// A Python exception as a GraphQL error (masked in production unless it is public).
pub fn error_of(
    py: Python<'_>,
    error: &PyErr,
    public_error: &Bound<'_, PyAny>,
    mask_errors: bool,
) -> async_graphql::Error {
    let public = error.is_instance(py, public_error);
    if mask_errors && !public {
        error.print(py);
        return async_graphql::Error::new("Internal server error");
    }
    async_graphql::Error::new(error.value(py).to_string())
}

impl PyHost {
    fn error(&self, py: Python<'_>, error: &PyErr) -> async_graphql::Error {
        error_of(py, error, self.public_error.bind(py), self.mask_errors)
    }

    fn arguments<'py>(py: Python<'py>, call: &Call<'_>) -> PyResult<Bound<'py, PyDict>> {
        let arguments = PyDict::new(py);
        for (name, value) in &call.arguments {
            arguments.set_item(name.as_str(), to_python(py, value)?)?;
        }
        Ok(arguments)
    }

    fn start(
        &self,
        py: Python<'_>,
        resolver: usize,
        parent: Option<&Py<PyAny>>,
        call: &Call<'_>,
        context: &RequestContext,
    ) -> PyResult<Step> {
        let arguments = Self::arguments(py, call)?;
        let parent = parent.map_or_else(|| py.None(), |p| p.clone_ref(py));
        let value = self.resolvers[resolver].bind(py).call1((
            parent,
            arguments,
            context.context.clone_ref(py),
            PyString::new(py, call.field),
            PyString::new(py, &call.path),
        ))?;
        let value = if value.hasattr(intern!(py, "__await__"))? {
            let task = context.start_task.bind(py).call1((value,))?;
            if !task.call_method0(intern!(py, "done"))?.is_truthy()? {
                let (sender, receiver) = oneshot::channel();
                task.call_method1(
                    intern!(py, "add_done_callback"),
                    (TaskSettled::new(sender),),
                )?;
                return Ok(Step::Running(task.unbind(), receiver));
            }
            task.call_method0(intern!(py, "result"))?
        } else {
            value
        };
        let output = to_output(&value, call.shape, &self.type_of, call.selection)?;
        Ok(Step::Done(output))
    }
}

impl PyHost {
    /// One resolver call: inline, or as an asyncio task awaited without the GIL.
    async fn call(
        &self,
        resolver: usize,
        parent: Option<&Py<PyAny>>,
        call: &Call<'_>,
        context: &RequestContext,
    ) -> async_graphql::Result<Output<Py<PyAny>>> {
        let step = Python::attach(|py| {
            let step = self.start(py, resolver, parent, call, context);
            context.after_python(py);
            step.map_err(|error| self.error(py, &error))
        })?;
        let (task, done) = match step {
            Step::Done(output) => return Ok(output),
            Step::Running(task, done) => (task, done),
        };
        let _ = done.await;
        Python::attach(|py| {
            let result = task
                .bind(py)
                .call_method0(intern!(py, "result"))
                .and_then(|value| to_output(&value, call.shape, &self.type_of, call.selection));
            drop(task);
            context.after_python(py);
            result.map_err(|error| self.error(py, &error))
        })
    }
}

impl Host for PyHost {
    type Object = Py<PyAny>;
    type Context = RequestContext;

    fn resolve<'a>(
        &'a self,
        resolver: usize,
        parent: Option<&'a Py<PyAny>>,
        call: Call<'a>,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, async_graphql::Result<Output<Py<PyAny>>>> {
        async move {
            let started = context.phases.as_ref().map(|_| SystemTime::now());
            let result = self.call(resolver, parent, &call, context).await;
            context.traced(&call, started);
            result
        }
        .boxed()
    }

    fn subscribe<'a>(
        &'a self,
        resolver: usize,
        call: Call<'a>,
        context: &'a RequestContext,
    ) -> BoxFuture<'a, async_graphql::Result<SubscriptionStream<Py<PyAny>>>> {
        let started = Python::attach(|py| {
            let source = Self::arguments(py, &call).and_then(|arguments| {
                self.resolvers[resolver].bind(py).call1((
                    py.None(),
                    arguments,
                    context.context.clone_ref(py),
                    PyString::new(py, call.field),
                    PyString::new(py, &call.path),
                ))
            });
            context.after_python(py);
            match source {
                Ok(source) => Ok(Source::new(
                    source.unbind(),
                    call.shape.clone(),
                    call.selection.cloned(),
                    self,
                    context,
                    py,
                )),
                Err(error) => Err(self.error(py, &error)),
            }
        });
        async move { started.map(Source::into_stream) }.boxed()
    }

    fn sources(&mut self, sources: &[String]) {
        self.sources = Python::attach(|py| {
            sources
                .iter()
                .map(|name| PyString::intern(py, name).unbind())
                .collect()
        });
    }

    fn project(&self, output: &Output<Py<PyAny>>, node: &Node) -> Option<Value> {
        Python::attach(|py| project_output(py, output, node, &self.sources))
    }

    fn read(
        &self,
        parent: &Py<PyAny>,
        source: &str,
        shape: &Shape,
        selection: Option<&Selection>,
    ) -> async_graphql::Result<Output<Py<PyAny>>> {
        Python::attach(|py| {
            let parent = parent.bind(py);
            let value = match parent.cast::<PyDict>() {
                Ok(dict) => dict.get_item(source),
                Err(_) => parent.getattr(source).map(Some),
            };
            let result = value.and_then(|value| match value {
                Some(value) => to_output(&value, shape, &self.type_of, selection),
                None => Ok(Output::Null),
            });
            result.map_err(|error| self.error(py, &error))
        })
    }
}
