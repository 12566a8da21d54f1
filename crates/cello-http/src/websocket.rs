//! WebSocket: the upgrade handshake and a session task that owns the socket.
//!
//! The session runs on the worker's `LocalSet` and talks to its user (the Python
//! binding, or any Rust code) through two bounded channels: received messages come
//! out of `inbox` (when the user stops reading, the session stops reading the socket,
//! so a flood cannot grow memory), messages to send go into `outbox`. It answers
//! pings, sends its own pings, closes idle connections, and closes with 1009 when a
//! message is larger than allowed. Fragmented messages are reassembled by tungstenite.
//! Compression (permessage-deflate) is not negotiated: clients fall back to plain
//! frames, as RFC 7692 allows.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::body::ResponseBody;
use crate::error::problem_response;
use crate::Response;

/// Limits and timers of WebSocket sessions.
#[derive(Clone, Debug)]
pub struct WebSocketSettings {
    /// Largest message (after reassembly), bytes; larger ones close with 1009.
    pub max_message_size: usize,
    /// Interval of the server's pings (`None`: never).
    pub ping_interval: Option<Duration>,
    /// A connection that sends nothing (not even a pong) for this long is closed (1001).
    pub idle_timeout: Duration,
    /// Messages received but not yet read by the handler before reading pauses.
    pub inbox_capacity: usize,
}

impl Default for WebSocketSettings {
    fn default() -> Self {
        Self {
            max_message_size: 16 * 1024 * 1024,
            ping_interval: Some(Duration::from_secs(20)),
            idle_timeout: Duration::from_secs(60),
            inbox_capacity: 32,
        }
    }
}

/// What the session hands its user.
#[derive(Debug)]
pub enum Received {
    Text(String),
    Binary(Bytes),
    /// The connection is over: the peer's close code and reason (1006 when it
    /// vanished without a close frame).
    Closed {
        code: u16,
        reason: String,
    },
}

/// What the user asks the session to send.
#[derive(Debug)]
pub enum Outgoing {
    Text(String),
    Binary(Bytes),
    Close { code: u16, reason: String },
}

/// Whether `headers` ask for a WebSocket upgrade.
pub fn is_upgrade(method: &Method, headers: &HeaderMap) -> bool {
    let has_token = |name, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|v| {
                v.split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    method == Method::GET && has_token(UPGRADE, "websocket") && has_token(CONNECTION, "upgrade")
}

/// The `101 Switching Protocols` answer to a valid handshake, choosing the first of
/// `protocols` the client offered; a 400/426 problem response otherwise.
#[allow(clippy::result_large_err)] // both arms are responses, returned once per handshake
pub fn handshake_response(
    headers: &HeaderMap,
    protocols: &[String],
) -> Result<(Response, Option<String>), Response> {
    let Some(key) = headers.get(SEC_WEBSOCKET_KEY) else {
        return Err(problem_response(
            StatusCode::BAD_REQUEST,
            "WebSocket handshake without Sec-WebSocket-Key",
        ));
    };
    if headers
        .get(SEC_WEBSOCKET_VERSION)
        .and_then(|v| v.to_str().ok())
        != Some("13")
    {
        let mut response = problem_response(
            StatusCode::UPGRADE_REQUIRED,
            "only WebSocket version 13 is supported",
        );
        response
            .headers_mut()
            .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return Err(response);
    }
    let offered: Vec<String> = headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|protocol| protocol.trim().to_owned())
        .collect();
    let chosen = protocols
        .iter()
        .find(|protocol| offered.contains(protocol))
        .cloned();
    let mut response = Response::new(ResponseBody::Empty);
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let response_headers = response.headers_mut();
    response_headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    response_headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    let accept = derive_accept_key(key.as_bytes());
    response_headers.insert(
        SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).unwrap_or(HeaderValue::from_static("")),
    );
    if let Some(protocol) = &chosen {
        if let Ok(value) = HeaderValue::from_str(protocol) {
            response_headers.insert(SEC_WEBSOCKET_PROTOCOL, value);
        }
    }
    Ok((response, chosen))
}

pub use hyper::upgrade::OnUpgrade;

/// The pending upgrade of a request received on a real connection (`None` for
/// requests built in memory, such as a test client's).
pub fn take_upgrade(extensions: &mut http::Extensions) -> Option<OnUpgrade> {
    extensions.remove::<OnUpgrade>()
}

/// Starts a session once the connection has been upgraded. Returns the inbox and
/// the outbox; dropping the outbox closes the connection (1000).
pub fn spawn_session(
    upgrade: hyper::upgrade::OnUpgrade,
    settings: WebSocketSettings,
) -> (mpsc::Receiver<Received>, mpsc::Sender<Outgoing>) {
    let (inbox_sender, inbox) = mpsc::channel(settings.inbox_capacity.max(1));
    let (outbox, outbox_receiver) = mpsc::channel(settings.inbox_capacity.max(1));
    tokio::task::spawn_local(async move {
        let closed = match upgrade.await {
            Ok(upgraded) => {
                run(
                    TokioIo::new(upgraded),
                    &settings,
                    &inbox_sender,
                    outbox_receiver,
                )
                .await
            }
            Err(error) => Received::Closed {
                code: 1006,
                reason: error.to_string(),
            },
        };
        let _ = inbox_sender.send(closed).await;
    });
    (inbox, outbox)
}

async fn run<S>(
    socket: S,
    settings: &WebSocketSettings,
    inbox: &mpsc::Sender<Received>,
    mut outbox: mpsc::Receiver<Outgoing>,
) -> Received
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    // tungstenite's 128 KiB default buffers cost 140 KiB per idle connection (10,000
    // idle websockets took 1.4 GiB in benches/results/2026-11-21-websocket.md); 8 KiB
    // buffers grow on demand for large messages.
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024)
        .max_message_size(Some(settings.max_message_size))
        .max_frame_size(Some(settings.max_message_size));
    let mut socket = WebSocketStream::from_raw_socket(socket, Role::Server, Some(config)).await;
    let mut ping = settings
        .ping_interval
        .map(|every| tokio::time::interval_at(tokio::time::Instant::now() + every, every));
    let mut last_heard = tokio::time::Instant::now();
    loop {
        let idle_deadline = last_heard + settings.idle_timeout;
        tokio::select! {
            frame = socket.next() => {
                last_heard = tokio::time::Instant::now();
                let message = match frame {
                    None => return Received::Closed { code: 1006, reason: "connection lost".into() },
                    Some(Ok(message)) => message,
                    Some(Err(WsError::Capacity(_))) => {
                        return close_with(&mut socket, 1009, "message too big").await;
                    }
                    Some(Err(WsError::Protocol(error))) => {
                        return close_with(&mut socket, 1002, &error.to_string()).await;
                    }
                    Some(Err(WsError::Utf8(_))) => {
                        return close_with(&mut socket, 1007, "invalid UTF-8 in a text message").await;
                    }
                    Some(Err(error)) => return Received::Closed { code: 1006, reason: error.to_string() },
                };
                let received = match message {
                    Message::Text(text) => Received::Text(text.as_str().to_owned()),
                    Message::Binary(data) => Received::Binary(data),
                    Message::Close(frame) => {
                        // tungstenite answers the close frame itself; flush it out.
                        let _ = socket.flush().await;
                        let (code, reason) = frame.map_or((1005, String::new()), |f| (u16::from(f.code), f.reason.as_str().to_owned()));
                        return Received::Closed { code, reason };
                    }
                    Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {
                        // Pongs to pings are queued by tungstenite; send them now.
                        let _ = socket.flush().await;
                        continue;
                    }
                };
                // Waits while the handler is behind: reading pauses, TCP pushes back.
                if inbox.send(received).await.is_err() {
                    return close_with(&mut socket, 1000, "").await;
                }
            }
            command = outbox.recv() => match command {
                Some(Outgoing::Text(text)) => {
                    if socket.send(Message::text(text)).await.is_err() {
                        return Received::Closed { code: 1006, reason: "connection lost while sending".into() };
                    }
                }
                Some(Outgoing::Binary(data)) => {
                    if socket.send(Message::Binary(data)).await.is_err() {
                        return Received::Closed { code: 1006, reason: "connection lost while sending".into() };
                    }
                }
                Some(Outgoing::Close { code, reason }) => return close_with(&mut socket, code, &reason).await,
                None => return close_with(&mut socket, 1000, "").await,
            },
            _ = async { match ping.as_mut() { Some(timer) => timer.tick().await, None => std::future::pending().await } } => {
                let _ = socket.send(Message::Ping(Bytes::new())).await;
            }
            () = tokio::time::sleep_until(idle_deadline) => {
                return close_with(&mut socket, 1001, "idle timeout").await;
            }
        }
    }
}

/// Sends a close frame, waits briefly for the peer's, and reports our code.
async fn close_with<S>(socket: &mut WebSocketStream<S>, code: u16, reason: &str) -> Received
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    };
    let _ = socket.close(Some(frame)).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
    Received::Closed {
        code,
        reason: reason.to_owned(),
    }
}
