//! The accept loop, per-connection serving and graceful shutdown.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::config::HttpConfig;
use crate::connection::{serve_connection, sniff_protocol, Protocol};
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

    /// A receiver that sees the shutdown start (for listeners beside the TCP one,
    /// such as HTTP/3's).
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }
}

/// An HTTP/1.1 server over one listener.
pub struct Server {
    config: Rc<HttpConfig>,
    shutdown: ShutdownHandle,
    connections: Rc<ConnectionCount>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    alt_svc: Option<http::HeaderValue>,
}

#[derive(Debug, Default)]
struct ConnectionCount {
    open: Cell<usize>,
    all_closed: tokio::sync::Notify,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.config)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server with these limits.
    pub fn new(config: HttpConfig) -> Self {
        let (sender, _) = watch::channel(false);
        Self {
            config: Rc::new(config),
            shutdown: ShutdownHandle(Arc::new(sender)),
            connections: Rc::default(),
            tls: None,
            alt_svc: None,
        }
    }

    /// Advertises another protocol endpoint on every response (`Alt-Svc`, e.g.
    /// `h3=":443"; ma=86400` when HTTP/3 is served).
    #[must_use]
    pub fn with_alt_svc(mut self, value: http::HeaderValue) -> Self {
        self.alt_svc = Some(value);
        self
    }

    /// Serves TLS with `acceptor` (see [`crate::tls::acceptor`]).
    #[must_use]
    pub fn with_tls(mut self, acceptor: tokio_rustls::TlsAcceptor) -> Self {
        self.tls = Some(acceptor);
        self
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
                        let info = ConnInfo { peer, local, secure: self.tls.is_some() };
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
        let tls = self.tls.clone();
        let alt_svc = self.alt_svc.clone();
        tokio::task::spawn_local(async move {
            // Decrements the count even if the task unwinds.
            let _open = OpenConnection(connections);
            match tls {
                None => {
                    // A client that connected but sent nothing yet must not hold up a drain.
                    let mut stop = shutdown.clone();
                    let protocol = tokio::select! {
                        protocol = sniff_protocol(&stream, &config) => protocol,
                        _ = stop.wait_for(|stopping| *stopping) => return,
                    };
                    serve_connection(stream, protocol, info, handler, &config, shutdown, alt_svc)
                        .await;
                }
                Some(acceptor) => {
                    // The handshake must finish within the header timeout (slowloris).
                    let mut stop = shutdown.clone();
                    let handshake = tokio::select! {
                        handshake = tokio::time::timeout(config.header_read_timeout, acceptor.accept(stream)) => handshake,
                        _ = stop.wait_for(|stopping| *stopping) => return,
                    };
                    let Ok(Ok(stream)) = handshake else { return };
                    let protocol = match stream.get_ref().1.alpn_protocol() {
                        Some(b"h2") => Protocol::Http2,
                        _ => Protocol::Http1,
                    };
                    serve_connection(stream, protocol, info, handler, &config, shutdown, alt_svc)
                        .await;
                }
            }
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
