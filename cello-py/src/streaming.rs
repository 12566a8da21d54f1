//! Response bodies produced by Python (streams, Server-Sent Events) and the hook that
//! runs background tasks once a response has been sent.
//!
//! A Python pump task (`cello.streaming`) pushes encoded chunks into a [`PyBodySink`];
//! the [`ChannelBody`] hyper polls takes them out. The queue is bounded: when it is
//! full the pump awaits an asyncio future that the body resolves as it drains, so a
//! slow client slows the producer instead of growing memory. When the client goes
//! away the body is dropped: the pump task is cancelled at once (a generator's
//! `finally` runs) and any waiting send learns the stream is closed.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pyo3::intern;
use pyo3::prelude::*;

use crate::driver::LoopShared;

/// Chunks a stream may queue before its producer has to wait.
const QUEUE_CHUNKS: usize = 16;

#[derive(Default)]
struct Channel {
    queue: VecDeque<Bytes>,
    /// The producer has finished: the body ends once the queue is empty.
    finished: bool,
    /// The producer failed: once the queue is empty the body ends with an error, so
    /// the client sees a cut-off response (HTTP/1.1: no last chunk and the connection
    /// closed; HTTP/2: the stream reset), not one that looks complete.
    aborted: bool,
    /// The consumer (the HTTP response) is gone: sends fail from now on.
    closed: bool,
    body_waker: Option<Waker>,
    /// An asyncio future the producer awaits until there is room (or the end).
    producer_waiter: Option<Py<PyAny>>,
    /// Sent after the last chunk (a gRPC call's status).
    trailers: Option<http::HeaderMap>,
}

impl Channel {
    /// Lets the body know there is something to send (or the end).
    fn wake(&mut self) {
        if let Some(waker) = self.body_waker.take() {
            waker.wake();
        }
    }
}

type Shared = Arc<Mutex<Channel>>;

fn lock(channel: &Shared) -> std::sync::MutexGuard<'_, Channel> {
    channel
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The producer's end of a streamed response, handed to the Python pump.
#[pyclass(name = "BodySink", module = "cello._cello", frozen)]
pub struct PyBodySink {
    channel: Shared,
}

#[pymethods]
impl PyBodySink {
    /// Queues `data`: `True` if queued, `False` if the queue is full (await
    /// `wait_capacity`), `None` if the client has gone away.
    fn try_send(&self, data: &[u8]) -> Option<bool> {
        let mut channel = lock(&self.channel);
        if channel.closed {
            return None;
        }
        if channel.queue.len() >= QUEUE_CHUNKS {
            return Some(false);
        }
        channel.queue.push_back(Bytes::copy_from_slice(data));
        channel.wake();
        Some(true)
    }

    /// Resolves asyncio future `future` with `True` once there is room in the queue,
    /// or `False` once the client has gone away.
    pub(crate) fn wait_capacity(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = future.py();
        let mut channel = lock(&self.channel);
        let answer = if channel.closed {
            Some(false)
        } else if channel.queue.len() < QUEUE_CHUNKS {
            Some(true)
        } else {
            None
        };
        match answer {
            Some(answer) => {
                drop(channel);
                future.call_method1(intern!(py, "set_result"), (answer,))?;
            }
            None => channel.producer_waiter = Some(future.clone().unbind()),
        }
        Ok(())
    }

    /// Ends the body once the queued chunks are sent.
    fn finish(&self) {
        self.end(false, None);
    }

    /// Ends the body with an error once the queued chunks are sent: the producer failed
    /// mid-stream, and the client must not take what it got for the whole body.
    fn abort(&self) {
        self.end(true, None);
    }

    /// Whether the client has gone away.
    #[getter]
    fn closed(&self) -> bool {
        self.is_closed()
    }
}

impl PyBodySink {
    /// Ends the body once the queued chunks are sent: with an error (`aborted`), or
    /// with `trailers` after the last chunk.
    fn end(&self, aborted: bool, trailers: Option<http::HeaderMap>) {
        let mut channel = lock(&self.channel);
        channel.finished = true;
        channel.aborted |= aborted;
        channel.trailers = trailers;
        channel.wake();
    }

    /// Whether the client has gone away (the body was dropped).
    pub(crate) fn is_closed(&self) -> bool {
        lock(&self.channel).closed
    }
}

// The gRPC calls' side of the channel.
#[cfg_attr(not(feature = "grpc"), allow(dead_code))]
impl PyBodySink {
    /// Queues an encoded chunk whatever the queue holds (the caller bounds it).
    pub(crate) fn push(&self, data: Bytes) -> bool {
        let mut channel = lock(&self.channel);
        if channel.closed {
            return false;
        }
        channel.queue.push_back(data);
        channel.wake();
        true
    }

    /// Ends the body with `trailers` once the queued chunks are sent.
    pub(crate) fn finish_with(&self, trailers: http::HeaderMap) {
        self.end(false, Some(trailers));
    }

    /// Whether a chunk would wait for room.
    pub(crate) fn is_full(&self) -> bool {
        lock(&self.channel).queue.len() >= QUEUE_CHUNKS
    }
}

/// The response body fed by a [`PyBodySink`].
pub struct ChannelBody {
    channel: Shared,
    shared: Rc<LoopShared>,
    pump: Option<Py<PyAny>>,
    keep_alive: Option<KeepAlive>,
    ended: bool,
}

struct KeepAlive {
    every: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
    comment: Bytes,
}

impl ChannelBody {
    /// A body and the sink that feeds it. `keep_alive` sends `comment` whenever no
    /// chunk was sent for that long (SSE keeps proxies from timing out that way).
    pub fn new(
        shared: Rc<LoopShared>,
        keep_alive: Option<(Duration, Bytes)>,
    ) -> (Self, PyBodySink) {
        let channel = Shared::default();
        let keep_alive = keep_alive.map(|(every, comment)| KeepAlive {
            every,
            timer: Box::pin(tokio::time::sleep(every)),
            comment,
        });
        let body = Self {
            channel: channel.clone(),
            shared,
            pump: None,
            keep_alive,
            ended: false,
        };
        (body, PyBodySink { channel })
    }

    /// The task producing this body, cancelled if the client goes away.
    pub fn set_pump(&mut self, task: Py<PyAny>) {
        self.pump = Some(task);
    }

    fn release_producer(&self, waiter: Option<Py<PyAny>>, answer: bool) {
        if let Some(waiter) = waiter {
            Python::attach(|py| {
                settle(waiter.bind(py), answer);
                self.shared.after_python(py);
            });
        }
    }
}

/// Sets the result of asyncio future `future`, unless it is done (cancelled) already;
/// a failure is printed, not raised (this runs where no Python code waits for it).
pub(crate) fn settle<'py, T>(future: &Bound<'py, PyAny>, value: T)
where
    T: pyo3::IntoPyObject<'py>,
{
    let py = future.py();
    let pending = !future
        .call_method0(intern!(py, "done"))
        .and_then(|done| done.is_truthy())
        .unwrap_or(true);
    if pending {
        if let Err(error) = future.call_method1(intern!(py, "set_result"), (value,)) {
            error.print(py);
        }
    }
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = cello_http::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let (chunk, waiter, finished, aborted) = {
            let mut channel = lock(&self.channel);
            let chunk = channel.queue.pop_front();
            let waiter = if chunk.is_some() {
                channel.producer_waiter.take()
            } else {
                None
            };
            if chunk.is_none() && !channel.finished {
                channel.body_waker = Some(cx.waker().clone());
            }
            (chunk, waiter, channel.finished, channel.aborted)
        };
        self.release_producer(waiter, true);
        if let Some(chunk) = chunk {
            if let Some(keep_alive) = self.keep_alive.as_mut() {
                let next = tokio::time::Instant::now() + keep_alive.every;
                keep_alive.timer.as_mut().reset(next);
            }
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        if finished {
            self.ended = true;
            if aborted {
                return Poll::Ready(Some(Err("the streamed response's producer failed".into())));
            }
            let trailers = lock(&self.channel).trailers.take();
            return Poll::Ready(trailers.map(|trailers| Ok(Frame::trailers(trailers))));
        }
        if let Some(keep_alive) = self.keep_alive.as_mut() {
            if keep_alive.timer.as_mut().poll(cx).is_ready() {
                let next = tokio::time::Instant::now() + keep_alive.every;
                keep_alive.timer.as_mut().reset(next);
                return Poll::Ready(Some(Ok(Frame::data(keep_alive.comment.clone()))));
            }
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

impl Drop for ChannelBody {
    fn drop(&mut self) {
        let waiter = {
            let mut channel = lock(&self.channel);
            channel.closed = true;
            channel.queue.clear();
            channel.producer_waiter.take()
        };
        self.release_producer(waiter, false);
        if let Some(pump) = self.pump.take() {
            Python::attach(|py| {
                if !self.ended {
                    // The client went away mid-stream: stop the producer now.
                    if let Err(error) = pump.call_method0(py, intern!(py, "cancel")) {
                        error.print(py);
                    }
                }
                drop(pump);
                self.shared.after_python(py);
            });
        }
    }
}

/// Wraps a response body; once it has been sent (or abandoned), schedules the
/// request's background tasks on the asyncio loop.
pub struct BackgroundBody {
    inner: cello_http::ResponseBody,
    tasks: Option<Py<PyAny>>,
    shared: Rc<LoopShared>,
}

impl BackgroundBody {
    /// `tasks` is a list of `BackgroundTasks` (or callables) for `cello.background.schedule`.
    pub fn new(inner: cello_http::ResponseBody, tasks: Py<PyAny>, shared: Rc<LoopShared>) -> Self {
        Self {
            inner,
            tasks: Some(tasks),
            shared,
        }
    }
}

impl Body for BackgroundBody {
    type Data = Bytes;
    type Error = cello_http::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for BackgroundBody {
    fn drop(&mut self) {
        if let Some(tasks) = self.tasks.take() {
            Python::attach(|py| {
                let scheduled = py
                    .import(intern!(py, "cello.background"))
                    .and_then(|module| module.call_method1(intern!(py, "schedule"), (tasks,)));
                if let Err(error) = scheduled {
                    error.print(py);
                }
                self.shared.after_python(py);
            });
        }
    }
}
