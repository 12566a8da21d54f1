//! HTTP/3 over QUIC (quinn + h3), on the same port number as the TCP listener.
//!
//! Requests are handed to the same [`Handler`] as HTTP/1.1 and HTTP/2; the request
//! body is read up to `max_body_size` before the handler runs, and the response body
//! (including streams) is sent frame by frame. Answers get the headers hyper adds on
//! the TCP protocols (`Date`, `Content-Length` when the length is known), and HEAD
//! answers no content.
//!
//! Shutdown: the endpoint refuses new connections, each connection sends GOAWAY and
//! serves the requests it had accepted, then closes with `H3_NO_ERROR`; whatever is
//! still open after `shutdown_timeout` is closed then.

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, DATE};
use http::HeaderValue;
use http_body::Body;
use http_body_util::BodyExt;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::body::RequestBody;
use crate::config::HttpConfig;
use crate::error::problem_response;
use crate::head::strip_body;
use crate::server::{ConnInfo, Handler};
use crate::tls::{TlsError, TlsSettings};

/// Binds a QUIC endpoint for `settings` on `address` (UDP). `reuse_port` lets worker
/// processes share the port number, as with TCP.
pub fn bind(
    address: SocketAddr,
    settings: &TlsSettings,
    reuse_port: bool,
) -> Result<quinn::Endpoint, TlsError> {
    let (mut tls, _store) = crate::tls::server_config(settings, true)?;
    tls.alpn_protocols = vec![b"h3".to_vec()];
    let quic = quinn::crypto::rustls::QuicServerConfig::try_from(Arc::new(tls))
        .map_err(|error| TlsError::Rustls(format!("QUIC needs TLS 1.3: {error}")))?;
    let server_config = quinn::ServerConfig::with_crypto(Arc::new(quic));
    let socket = udp_socket(address, reuse_port)
        .map_err(|error| TlsError::Rustls(format!("cannot bind UDP {address}: {error}")))?;
    let runtime = quinn::default_runtime()
        .ok_or_else(|| TlsError::Rustls("no async runtime for QUIC".into()))?;
    quinn::Endpoint::new(
        quinn::EndpointConfig::default(),
        Some(server_config),
        socket,
        runtime,
    )
    .map_err(|error| TlsError::Rustls(format!("cannot start QUIC on {address}: {error}")))
}

fn udp_socket(address: SocketAddr, reuse_port: bool) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(address),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    #[cfg(unix)]
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    #[cfg(not(unix))]
    let _ = reuse_port;
    socket.bind(&address.into())?;
    Ok(socket.into())
}

/// HTTP/3's "no error" code (RFC 9114, 8.1), for closes that end nothing abruptly.
const H3_NO_ERROR: u32 = 0x100;

/// How long the endpoint waits, after the last close, for the peers to hear it.
const CLOSE_NOTICE: Duration = Duration::from_secs(1);

/// QUIC's default `max_ack_delay` (RFC 9000, 18.2): how long a peer may hold an ACK.
const MAX_ACK_DELAY: Duration = Duration::from_millis(25);

/// Accepts QUIC connections until `shutdown` fires, serving each on the `LocalSet`;
/// then drains them (see the module documentation). Returns when every connection
/// is closed.
pub async fn serve<H: Handler>(
    endpoint: quinn::Endpoint,
    handler: Rc<H>,
    config: Rc<HttpConfig>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        if *shutdown.borrow_and_update() {
            break;
        }
        tokio::select! {
            incoming = endpoint.accept() => {
                let Some(incoming) = incoming else { break };
                let handler = handler.clone();
                let config = config.clone();
                let shutdown = shutdown.clone();
                connections.spawn_local(async move {
                    if let Ok(connection) = incoming.await {
                        serve_connection(connection, handler, &config, shutdown).await;
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    // New connections are refused from here on; open ones finish their requests.
    endpoint.set_server_config(None);
    let drained = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(config.shutdown_timeout, drained).await;
    endpoint.close(H3_NO_ERROR.into(), b"server shutting down");
    connections.abort_all();
    let _ = tokio::time::timeout(CLOSE_NOTICE, endpoint.wait_idle()).await;
}

async fn serve_connection<H: Handler>(
    connection: quinn::Connection,
    handler: Rc<H>,
    config: &HttpConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let local = SocketAddr::from(([0, 0, 0, 0], 0));
    let info = ConnInfo {
        peer: connection.remote_address(),
        local,
        secure: true,
    };
    let quic = connection.clone();
    // Dropping `h3` closes the QUIC connection (with H3_NO_ERROR), so it must outlive
    // the requests: they are tracked here and awaited before it goes.
    let Ok(mut h3) = h3::server::Connection::new(h3_quinn::Connection::new(connection)).await
    else {
        return;
    };
    let mut requests = JoinSet::new();
    let mut draining = false;
    loop {
        tokio::select! {
            accepted = h3.accept() => match accepted {
                Ok(Some(resolver)) => {
                    let handler = handler.clone();
                    let max_body = config.max_body_size;
                    requests.spawn_local(async move {
                        if let Ok((request, stream)) = resolver.resolve_request().await {
                            answer(request, stream, handler, info, max_body).await;
                        }
                    });
                }
                // The client closed the connection, or said GOAWAY and is done.
                _ => break,
            },
            Some(_) = requests.join_next(), if !requests.is_empty() => {
                if draining && requests.is_empty() {
                    break;
                }
            }
            _ = shutdown.changed(), if !draining => {
                draining = true;
                // GOAWAY with the stream after the last accepted one: by RFC 9114, 5.2,
                // the requests below it are served; h3 refuses any later stream.
                // (h3's `shutdown(0)` would name the last accepted stream itself, which
                // tells the client that request was not processed.)
                if h3.shutdown(1).await.is_err() || requests.is_empty() {
                    break;
                }
            }
        }
    }
    while requests.join_next().await.is_some() {}
    if draining {
        // A QUIC close discards stream data the peer has not acknowledged yet, and
        // h3-quinn gives no access to quinn's `SendStream::stopped()`, which would
        // say when it has. So the last answers get a few round trips (with the ACK
        // delay a peer may take) to arrive, unless the client closes first.
        let linger = 3 * (2 * quic.rtt() + MAX_ACK_DELAY);
        let _ = tokio::time::timeout(linger, quic.closed()).await;
    }
}

async fn answer<H: Handler, S>(
    request: http::Request<()>,
    mut stream: h3::server::RequestStream<S, Bytes>,
    handler: Rc<H>,
    info: ConnInfo,
    max_body: usize,
) where
    S: h3::quic::BidiStream<Bytes>,
{
    let mut body = BytesMut::new();
    let mut too_large = false;
    loop {
        match stream.recv_data().await {
            Ok(Some(mut chunk)) => {
                if body.len() + chunk.remaining() > max_body {
                    too_large = true;
                    break;
                }
                while chunk.has_remaining() {
                    let piece = chunk.chunk();
                    body.extend_from_slice(piece);
                    let length = piece.len();
                    chunk.advance(length);
                }
            }
            Ok(None) => break,
            Err(_) => return,
        }
    }
    let is_head = request.method() == http::Method::HEAD;
    let mut response = if too_large {
        problem_response(
            http::StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body is larger than the limit of {max_body} bytes"),
        )
    } else {
        let request = request.map(|()| RequestBody::Full(body.freeze()));
        handler.call(request, info).await
    };
    if is_head {
        strip_body(&mut response);
    }
    let (parts, mut response_body) = response.into_parts();
    let mut head = http::Response::from_parts(parts, ());
    complete_headers(head.headers_mut(), &response_body);
    if stream.send_response(head).await.is_err() {
        return;
    }
    while let Some(frame) = response_body.frame().await {
        let Ok(frame) = frame else { break };
        if let Ok(data) = frame.into_data() {
            if stream.send_data(data).await.is_err() {
                return;
            }
        }
    }
    let _ = stream.finish().await;
}

/// The headers hyper adds on HTTP/1.1 and HTTP/2, so that an answer reads the same on
/// every protocol: `Date` (RFC 9110, 6.6.1) and, for a body of known length,
/// `Content-Length`. Connection-specific headers have no meaning in HTTP/3.
fn complete_headers(headers: &mut http::HeaderMap, body: &crate::ResponseBody) {
    headers.remove(http::header::CONNECTION);
    if !body.is_end_stream() && !headers.contains_key(CONTENT_LENGTH) {
        if let Some(length) = body.size_hint().exact() {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
        }
    }
    if !headers.contains_key(DATE) {
        let now = httpdate::fmt_http_date(SystemTime::now());
        if let Ok(value) = HeaderValue::from_str(&now) {
            headers.insert(DATE, value);
        }
    }
}
