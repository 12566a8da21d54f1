//! HTTP/3 over QUIC (quinn + h3), on the same port number as the TCP listener.
//!
//! Requests are handed to the same [`Handler`] as HTTP/1.1 and HTTP/2; the request
//! body is read up to `max_body_size` before the handler runs, and the response body
//! (including streams) is sent frame by frame. Shutdown sends the QUIC close after
//! in-flight requests had `shutdown_timeout` to finish.

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use http_body_util::BodyExt;
use tokio::sync::watch;

use crate::body::RequestBody;
use crate::config::HttpConfig;
use crate::error::problem_response;
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

/// Accepts QUIC connections until `shutdown` fires, serving each on the `LocalSet`.
pub async fn serve<H: Handler>(
    endpoint: quinn::Endpoint,
    handler: Rc<H>,
    config: Rc<HttpConfig>,
    mut shutdown: watch::Receiver<bool>,
) {
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
                tokio::task::spawn_local(async move {
                    if let Ok(connection) = incoming.await {
                        serve_connection(connection, handler, &config, shutdown).await;
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
    }
    endpoint.close(quinn::VarInt::from_u32(0), b"server shutting down");
    let _ = tokio::time::timeout(config.shutdown_timeout, endpoint.wait_idle()).await;
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
    let Ok(mut h3) = h3::server::Connection::new(h3_quinn::Connection::new(connection)).await
    else {
        return;
    };
    loop {
        tokio::select! {
            accepted = h3.accept() => match accepted {
                Ok(Some(resolver)) => {
                    let handler = handler.clone();
                    let max_body = config.max_body_size;
                    tokio::task::spawn_local(async move {
                        if let Ok((request, stream)) = resolver.resolve_request().await {
                            answer(request, stream, handler, info, max_body).await;
                        }
                    });
                }
                _ => break,
            },
            _ = shutdown.changed() => {
                // GOAWAY: finish what is in flight, accept nothing new.
                let _ = h3.shutdown(0).await;
                break;
            }
        }
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
    let response = if too_large {
        problem_response(
            http::StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body is larger than the limit of {max_body} bytes"),
        )
    } else {
        let request = request.map(|()| RequestBody::Full(body.freeze()));
        handler.call(request, info).await
    };
    let (parts, mut response_body) = response.into_parts();
    let mut head = http::Response::from_parts(parts, ());
    // Connection-specific headers have no meaning in HTTP/3.
    head.headers_mut().remove(http::header::CONNECTION);
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
