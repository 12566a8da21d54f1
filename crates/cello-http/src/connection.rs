//! One connection: protocol selection, hyper's HTTP/1.1 or HTTP/2 driver, the idle
//! timer, graceful shutdown and panic containment.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::body::RequestBody;
use crate::config::HttpConfig;
use crate::error::problem_response;
use crate::head::strip_body;
use crate::server::{ConnInfo, Handler};

/// When bytes last moved on a connection. Shared with the I/O wrapper, which hyper
/// requires to be `Send` (for upgrades), hence atomics rather than `Cell`.
#[derive(Debug)]
struct Activity {
    base: Instant,
    last_nanos: std::sync::atomic::AtomicU64,
    in_flight: std::sync::atomic::AtomicUsize,
}

impl Activity {
    fn touch(&self) {
        let nanos = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last_nanos.store(nanos, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.base + Duration::from_nanos(self.last_nanos.load(Ordering::Relaxed))
    }
}

/// Which HTTP version a connection speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    Http1,
    Http2,
}

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Cleartext: HTTP/2 with prior knowledge (h2c) when the client opens with the
/// HTTP/2 preface, HTTP/1.1 otherwise. Reads nothing: the bytes are only peeked.
pub(crate) async fn sniff_protocol(stream: &TcpStream, config: &HttpConfig) -> Protocol {
    if !config.http2 {
        return Protocol::Http1;
    }
    let mut buffer = [0u8; 24];
    let sniff = async {
        loop {
            let Ok(seen) = stream.peek(&mut buffer).await else {
                return Protocol::Http1;
            };
            if seen == 0 || buffer[..seen] != H2_PREFACE[..seen] {
                return Protocol::Http1;
            }
            if seen == H2_PREFACE.len() {
                return Protocol::Http2;
            }
            // A prefix of the preface so far: wait for more bytes.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    tokio::time::timeout(config.header_read_timeout, sniff)
        .await
        .unwrap_or(Protocol::Http1)
}

/// Runs futures of HTTP/2 streams on the worker's `LocalSet` (they need not be `Send`).
#[derive(Clone, Copy, Debug)]
struct LocalExec;

impl<F> hyper::rt::Executor<F> for LocalExec
where
    F: Future + 'static,
{
    fn execute(&self, future: F) {
        tokio::task::spawn_local(future);
    }
}

/// Serves one connection (plain or TLS) in `protocol` until it closes, the server
/// shuts down (graceful: in-flight requests finish; HTTP/2 sends GOAWAY) or it idles
/// past `keep_alive_timeout`.
pub(crate) async fn serve_connection<H, T>(
    stream: T,
    protocol: Protocol,
    info: ConnInfo,
    handler: Rc<H>,
    config: &HttpConfig,
    shutdown: watch::Receiver<bool>,
    alt_svc: Option<http::HeaderValue>,
) where
    H: Handler,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity {
        base: Instant::now(),
        last_nanos: AtomicU64::new(0),
        in_flight: AtomicUsize::new(0),
    });
    let io = TokioIo::new(ActivityIo {
        inner: stream,
        activity: activity.clone(),
    });
    let service_activity = activity.clone();
    let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
        let handler = handler.clone();
        let activity = service_activity.clone();
        let alt_svc = alt_svc.clone();
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        let is_head = request.method() == http::Method::HEAD;
        async move {
            let request = request.map(RequestBody::Incoming);
            // `call` itself runs inside the guarded future, so a panic before it
            // returns its future is caught too.
            let response = CatchUnwind(async move { handler.call(request, info).await }).await;
            activity.in_flight.fetch_sub(1, Ordering::Relaxed);
            activity.touch();
            let mut response = response.unwrap_or_else(|()| {
                problem_response(
                    http::StatusCode::INTERNAL_SERVER_ERROR,
                    "the server failed while handling this request",
                )
            });
            if is_head {
                strip_body(&mut response);
            }
            if let Some(alt_svc) = alt_svc {
                response
                    .headers_mut()
                    .insert(http::header::ALT_SVC, alt_svc);
            }
            Ok::<_, Infallible>(response)
        }
    });
    match protocol {
        Protocol::Http1 => {
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(config.header_read_timeout)
                .keep_alive(config.keep_alive)
                .max_header_size(config.max_header_size)
                // One write for a batch of pipelined answers. Stock hyper 1.12 loses the
                // automatic 400 and unbounds its write buffer with this on;
                // patches/hyper-1.12.0-pipeline-flush.patch fixes both
                // (docs/decisions.md).
                .pipeline_flush(true);
            let connection = builder.serve_connection(io, service).with_upgrades();
            drive(
                connection,
                |c| c.graceful_shutdown(),
                &activity,
                config,
                shutdown,
                info.peer,
            )
            .await;
        }
        Protocol::Http2 => {
            let mut builder = http2::Builder::new(LocalExec);
            builder
                .timer(TokioTimer::new())
                .max_concurrent_streams(config.http2_max_concurrent_streams)
                .initial_stream_window_size(config.http2_stream_window)
                .initial_connection_window_size(config.http2_connection_window)
                .max_header_list_size(u32::try_from(config.max_header_size).unwrap_or(u32::MAX))
                .keep_alive_interval(config.http2_keep_alive_interval)
                .keep_alive_timeout(config.header_read_timeout);
            let connection = builder.serve_connection(io, service);
            drive(
                connection,
                |c| c.graceful_shutdown(),
                &activity,
                config,
                shutdown,
                info.peer,
            )
            .await;
        }
    }
}

/// Polls `connection` to the end; `graceful` asks it to finish (on shutdown or idle).
async fn drive<C: Future<Output = Result<(), hyper::Error>>>(
    connection: C,
    graceful: impl Fn(Pin<&mut C>),
    activity: &Activity,
    config: &HttpConfig,
    mut shutdown: watch::Receiver<bool>,
    peer: std::net::SocketAddr,
) {
    tokio::pin!(connection);
    let idle_limit = config.keep_alive_timeout;
    let mut closing = false;
    // While a request runs past the idle limit, check again one limit later instead of
    // spinning on a deadline that is already in the past.
    let mut not_before = Instant::now();
    loop {
        let idle_deadline = (activity.last() + idle_limit).max(not_before);
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    log_connection_error(&error, peer);
                }
                break;
            }
            changed = shutdown.changed(), if !closing => {
                if changed.is_err() || *shutdown.borrow() {
                    closing = true;
                    graceful(connection.as_mut());
                }
            }
            () = tokio::time::sleep_until(idle_deadline), if !closing => {
                let idle = activity.in_flight.load(Ordering::Relaxed) == 0
                    && Instant::now().duration_since(activity.last()) >= idle_limit;
                if idle {
                    closing = true;
                    graceful(connection.as_mut());
                } else {
                    not_before = Instant::now() + idle_limit;
                }
            }
        }
    }
}

/// A connection that ended in an error, as a `tracing` event (target
/// `cello::connection`): a malformed request is a warning, a client that went away or
/// timed out is debug. Subscribers should rate-limit these: a client can cause any
/// number of them.
fn log_connection_error(error: &hyper::Error, peer: std::net::SocketAddr) {
    if error.is_parse() || error.is_parse_too_large() {
        tracing::warn!(target: "cello::connection", %peer, "malformed request: {error}");
    } else {
        tracing::debug!(target: "cello::connection", %peer, "connection closed: {error}");
    }
}

/// Contains a panic raised while polling a handler's future.
struct CatchUnwind<F>(F);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `self.0` is never moved out of the pinned struct; this is a plain
        // structural pin projection.
        let inner = unsafe { self.map_unchecked_mut(|this| &mut this.0) };
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => {
                tracing::error!(target: "cello::handler", "a request handler panicked; answered 500");
                Poll::Ready(Err(()))
            }
        }
    }
}

/// A stream that records when bytes last moved, for the keep-alive idle timeout.
struct ActivityIo<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T: AsyncRead + Unpin> AsyncRead for ActivityIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.touch();
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ActivityIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(written)) if written > 0) {
            this.activity.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
