//! The accept loop, per-connection serving and graceful shutdown.

use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::body::RequestBody;
use crate::config::HttpConfig;
use crate::error::problem_response;
use crate::{Request, Response};

/// Where a request came from.
#[derive(Clone, Copy, Debug)]
pub struct ConnInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// The address the connection was accepted on.
    pub local: SocketAddr,
    /// Whether the connection is encrypted (TLS).
    pub secure: bool,
}

/// Answers requests. One handler serves every connection of a worker; it runs on a
/// single-threaded runtime, so neither it nor its futures need to be `Send`.
pub trait Handler: 'static {
    /// Produces the response for one request. A panic inside becomes a 500 and the
    /// worker keeps serving.
    fn call(
        self: Rc<Self>,
        request: Request,
        conn: ConnInfo,
    ) -> impl Future<Output = Response> + 'static;
}

/// Stops a running [`Server`]: no new connections, in-flight requests get
/// `shutdown_timeout` to finish. Cloneable and `Send`: any thread may stop the server.
#[derive(Clone, Debug)]
pub struct ShutdownHandle(Arc<watch::Sender<bool>>);

impl ShutdownHandle {
    /// Starts the graceful shutdown. Calling it again does nothing.
    pub fn shutdown(&self) {
        self.0.send_replace(true);
    }

    /// Whether shutdown has started.
    pub fn is_shutting_down(&self) -> bool {
        *self.0.borrow()
    }
}

/// An HTTP/1.1 server over one listener.
#[derive(Debug)]
pub struct Server {
    config: Rc<HttpConfig>,
    shutdown: ShutdownHandle,
    connections: Rc<ConnectionCount>,
}

#[derive(Debug, Default)]
struct ConnectionCount {
    open: Cell<usize>,
    all_closed: tokio::sync::Notify,
}

impl Server {
    /// A server with these limits.
    pub fn new(config: HttpConfig) -> Self {
        let (sender, _) = watch::channel(false);
        Self {
            config: Rc::new(config),
            shutdown: ShutdownHandle(Arc::new(sender)),
            connections: Rc::default(),
        }
    }

    /// A handle that starts the graceful shutdown of this server.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Accepts and serves connections until shutdown, then waits for open connections
    /// to finish (at most `shutdown_timeout`). Must run inside a `LocalSet`.
    pub async fn serve<H: Handler>(
        self,
        listener: std::net::TcpListener,
        handler: Rc<H>,
    ) -> io::Result<()> {
        let listener = TcpListener::from_std(listener)?;
        let local = listener.local_addr()?;
        let mut shutdown = self.shutdown.0.subscribe();
        loop {
            if *shutdown.borrow_and_update() {
                break;
            }
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let info = ConnInfo { peer, local, secure: false };
                        self.spawn_connection(stream, info, handler.clone());
                    }
                    // Out of file descriptors or similar: back off instead of spinning.
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                },
                _ = shutdown.changed() => break,
            }
        }
        drop(listener);
        let drained = async {
            while self.connections.open.get() > 0 {
                self.connections.all_closed.notified().await;
            }
        };
        let _ = tokio::time::timeout(self.config.shutdown_timeout, drained).await;
        Ok(())
    }

    fn spawn_connection<H: Handler>(&self, stream: TcpStream, info: ConnInfo, handler: Rc<H>) {
        let _ = stream.set_nodelay(true);
        let config = self.config.clone();
        let shutdown = self.shutdown.0.subscribe();
        let connections = self.connections.clone();
        connections.open.set(connections.open.get() + 1);
        tokio::task::spawn_local(async move {
            // Decrements the count even if the task unwinds.
            let _open = OpenConnection(connections);
            serve_connection(stream, info, handler, &config, shutdown).await;
        });
    }
}

/// Counts one open connection for the drain; the count drops with the guard.
struct OpenConnection(Rc<ConnectionCount>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        let open = self.0.open.get() - 1;
        self.0.open.set(open);
        if open == 0 {
            self.0.all_closed.notify_waiters();
        }
    }
}

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

async fn serve_connection<H: Handler>(
    stream: TcpStream,
    info: ConnInfo,
    handler: Rc<H>,
    config: &HttpConfig,
    mut shutdown: watch::Receiver<bool>,
) {
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
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        async move {
            let request = request.map(RequestBody::Incoming);
            // `call` itself runs inside the guarded future, so a panic before it
            // returns its future is caught too.
            let response = CatchUnwind(async move { handler.call(request, info).await }).await;
            activity.in_flight.fetch_sub(1, Ordering::Relaxed);
            activity.touch();
            Ok::<_, Infallible>(response.unwrap_or_else(|()| {
                problem_response(
                    http::StatusCode::INTERNAL_SERVER_ERROR,
                    "the server failed while handling this request",
                )
            }))
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .keep_alive(config.keep_alive)
        .max_header_size(config.max_header_size);
    // `pipeline_flush` is deliberately off: with it, hyper 1.x never flushes the
    // automatic 400/431 it writes for a malformed request (seen with hyper 1.12), and a
    // clear error beats batching pipelined writes.
    let connection = builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(connection);
    let idle_limit = config.keep_alive_timeout;
    let mut closing = false;
    // While a request runs past the idle limit, check again one limit later instead of
    // spinning on a deadline that is already in the past.
    let mut not_before = Instant::now();
    loop {
        let idle_deadline = (activity.last() + idle_limit).max(not_before);
        tokio::select! {
            _ = connection.as_mut() => break,
            changed = shutdown.changed(), if !closing => {
                if changed.is_err() || *shutdown.borrow() {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
            () = tokio::time::sleep_until(idle_deadline), if !closing => {
                let idle = activity.in_flight.load(Ordering::Relaxed) == 0
                    && Instant::now().duration_since(activity.last()) >= idle_limit;
                if idle {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                } else {
                    not_before = Instant::now() + idle_limit;
                }
            }
        }
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
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

/// A stream that records when bytes last moved, for the keep-alive idle timeout.
struct ActivityIo {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for ActivityIo {
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

impl AsyncWrite for ActivityIo {
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
