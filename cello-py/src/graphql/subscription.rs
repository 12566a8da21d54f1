//! A subscription resolver's async generator as the engine's stream of values.
//!
//! The resolver returns a `cello.graphql._compile.SubscriptionSource` wrapping the
//! generator. Each item is one `source.step()` coroutine run as a task of the worker's
//! asyncio loop (eagerly started, as async resolvers are) while the engine waits without
//! the GIL. When the stream is dropped before the generator finished (the client left,
//! or stopped the operation), `source.close(pending)` runs as a task: it cancels a step
//! still running and `aclose()`s the generator, so its `finally` runs.

use async_graphql::futures_util::stream::{self, StreamExt};
use cello_protocols::graphql::{Output, Shape, SubscriptionStream};
use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::intern;
use pyo3::prelude::*;
use tokio::sync::oneshot;

use super::convert::to_output;
use super::host::{error_of, RequestContext, TaskSettled};
use crate::driver::PyDriver;
use cello_protocols::graphql::Selection;

/// What the stream needs of the host and the request, owned (the stream outlives both
/// borrows the engine lends the resolver call).
pub struct Source {
    pub source: Py<PyAny>,
    pub shape: Shape,
    /// An untyped field's sub-selection, to trim each value with.
    pub selection: Option<Selection>,
    pub type_of: Py<PyAny>,
    pub public_error: Py<PyAny>,
    pub mask_errors: bool,
    pub start_task: Py<PyAny>,
    pub driver: Py<PyDriver>,
    /// The task of the step being awaited, cancelled if the stream is dropped meanwhile.
    pending: Option<Py<PyAny>>,
    finished: bool,
}

enum Started {
    Ready(Py<PyAny>),
    Waiting(Py<PyAny>, oneshot::Receiver<()>),
}

impl Source {
    pub fn new(
        source: Py<PyAny>,
        shape: Shape,
        selection: Option<Selection>,
        host: &super::host::PyHost,
        context: &RequestContext,
        py: Python<'_>,
    ) -> Self {
        Self {
            source,
            shape,
            selection,
            type_of: host.type_of.clone_ref(py),
            public_error: host.public_error.clone_ref(py),
            mask_errors: host.mask_errors,
            start_task: context.start_task.clone_ref(py),
            driver: context.driver.clone_ref(py),
            pending: None,
            finished: false,
        }
    }

    /// The generator's values until it returns or fails (a failure is the last item).
    pub fn into_stream(self) -> SubscriptionStream<Py<PyAny>> {
        stream::unfold(self, |mut source| async move {
            let item = source.next().await?;
            Some((item, source))
        })
        .boxed()
    }

    fn after_python(&self, py: Python<'_>) {
        if let Ok(state) = self.driver.get().state() {
            state.shared.after_python(py);
        }
    }

    fn fail(
        &mut self,
        py: Python<'_>,
        error: &PyErr,
    ) -> Option<async_graphql::Result<Output<Py<PyAny>>>> {
        self.finished = true;
        if error.is_instance_of::<PyStopAsyncIteration>(py) {
            return None;
        }
        Some(Err(error_of(
            py,
            error,
            self.public_error.bind(py),
            self.mask_errors,
        )))
    }

    fn start(&self, py: Python<'_>) -> PyResult<Started> {
        let step = self.source.bind(py).call_method0(intern!(py, "step"))?;
        let task = self.start_task.bind(py).call1((step,))?;
        if task.call_method0(intern!(py, "done"))?.is_truthy()? {
            return Ok(Started::Ready(task.unbind()));
        }
        let (sender, receiver) = oneshot::channel();
        task.call_method1(
            intern!(py, "add_done_callback"),
            (TaskSettled::new(sender),),
        )?;
        Ok(Started::Waiting(task.unbind(), receiver))
    }

    async fn next(&mut self) -> Option<async_graphql::Result<Output<Py<PyAny>>>> {
        if self.finished {
            return None;
        }
        let started = Python::attach(|py| {
            let started = self.start(py);
            self.after_python(py);
            started.map_err(|error| self.fail(py, &error))
        });
        let task = match started {
            Err(failure) => return failure,
            Ok(Started::Ready(task)) => task,
            Ok(Started::Waiting(task, done)) => {
                self.pending = Python::attach(|py| Some(task.clone_ref(py)));
                let _ = done.await;
                self.pending = None;
                task
            }
        };
        Python::attach(|py| {
            let value = task.bind(py).call_method0(intern!(py, "result"));
            drop(task);
            let item = match value {
                Ok(value) => {
                    match to_output(&value, &self.shape, &self.type_of, self.selection.as_ref()) {
                        Ok(output) => Some(Ok(output)),
                        Err(error) => self.fail(py, &error),
                    }
                }
                Err(error) => self.fail(py, &error),
            };
            self.after_python(py);
            item
        })
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        Python::attach(|py| {
            let pending = self.pending.take().unwrap_or_else(|| py.None());
            let closed = self
                .source
                .bind(py)
                .call_method1(intern!(py, "close"), (pending,))
                .and_then(|closing| self.start_task.bind(py).call1((closing,)).map(drop));
            if let Err(error) = closed {
                error.print(py);
            }
            self.after_python(py);
        });
    }
}
