//! WebSocket: the upgrade handshake and a session task that owns the socket.
//!
//! The session runs on the worker's `LocalSet` and talks to its user (the Python
//! binding, or any Rust code) through two bounded channels: received messages come
//! out of `inbox` (when the user stops reading, the session stops reading the socket,
//! so a flood cannot grow memory), messages to send go into `outbox`. It answers
//! pings, sends its own pings, closes idle connections, and closes with 1009 when a
//! message is larger than allowed.
//!
//! The protocol is our own (RFC 6455 framing in `frame`, bytes to messages in
//! `reader`, the connection's loop in `session`) so that it can carry
//! permessage-deflate (RFC 7692, `deflate`), process payloads as they arrive, and keep
//! an idle connection down to one 8 KiB buffer.

mod deflate;
mod frame;
mod reader;
mod session;

use std::time::Duration;

use bytes::Bytes;
use http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use hyper_util::rt::TokioIo;
use sha1::{Digest, Sha1};
use tokio::sync::mpsc;

pub use deflate::{DeflateParams, DeflateSettings};

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
    /// permessage-deflate, when a client offers it (`None`: never negotiated).
    pub compression: Option<DeflateSettings>,
}

impl Default for WebSocketSettings {
    fn default() -> Self {
        Self {
            max_message_size: 16 * 1024 * 1024,
            ping_interval: Some(Duration::from_secs(20)),
            idle_timeout: Duration::from_secs(60),
            inbox_capacity: 32,
            compression: Some(DeflateSettings::default()),
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

/// What a handshake agreed on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Negotiated {
    /// The first of the server's subprotocols that the client offered.
    pub subprotocol: Option<String>,
    /// permessage-deflate, if the client offered it and `settings` allow it.
    pub deflate: Option<DeflateParams>,
}

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 section 4.2.2).
pub fn accept_key(key: &[u8]) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    data_encoding::BASE64.encode(&sha1.finalize())
}

/// The `101 Switching Protocols` answer to a valid handshake, choosing the first of
/// `protocols` the client offered and negotiating permessage-deflate; a 400/426
/// problem response otherwise.
#[allow(clippy::result_large_err)] // both arms are responses, returned once per handshake
pub fn handshake_response(
    headers: &HeaderMap,
    protocols: &[String],
    settings: &WebSocketSettings,
) -> Result<(Response, Negotiated), Response> {
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
    let accept = accept_key(key.as_bytes());
    response_headers.insert(
        SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).unwrap_or(HeaderValue::from_static("")),
    );
    if let Some(protocol) = &chosen {
        if let Ok(value) = HeaderValue::from_str(protocol) {
            response_headers.insert(SEC_WEBSOCKET_PROTOCOL, value);
        }
    }
    let deflate = settings
        .compression
        .as_ref()
        .and_then(|compression| deflate::negotiate(headers, compression))
        .map(|(params, answer)| {
            response_headers.insert(SEC_WEBSOCKET_EXTENSIONS, answer);
            params
        });
    Ok((
        response,
        Negotiated {
            subprotocol: chosen,
            deflate,
        },
    ))
}

pub use hyper::upgrade::OnUpgrade;

/// The pending upgrade of a request received on a real connection (`None` for
/// requests built in memory, such as a test client's).
pub fn take_upgrade(extensions: &mut http::Extensions) -> Option<OnUpgrade> {
    extensions.remove::<OnUpgrade>()
}

/// Starts a session once the connection has been upgraded, with what the handshake
/// negotiated. Returns the inbox and the outbox; dropping the outbox closes the
/// connection (1000).
pub fn spawn_session(
    upgrade: hyper::upgrade::OnUpgrade,
    settings: WebSocketSettings,
    deflate: Option<DeflateParams>,
) -> (mpsc::Receiver<Received>, mpsc::Sender<Outgoing>) {
    let (inbox_sender, inbox) = mpsc::channel(settings.inbox_capacity.max(1));
    let (outbox, outbox_receiver) = mpsc::channel(settings.inbox_capacity.max(1));
    tokio::task::spawn_local(async move {
        let closed = match upgrade.await {
            Ok(upgraded) => {
                serve(
                    TokioIo::new(upgraded),
                    &settings,
                    deflate,
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

/// Runs a session over any byte stream that has already been upgraded (a Rust
/// embedding can call this with its own socket).
pub async fn serve<S>(
    socket: S,
    settings: &WebSocketSettings,
    deflate: Option<DeflateParams>,
    inbox: &mpsc::Sender<Received>,
    outbox: mpsc::Receiver<Outgoing>,
) -> Received
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let codecs = deflate.map(|params| {
        let compression = settings.compression.clone().unwrap_or_default();
        (
            deflate::Codec::new(params, &compression),
            deflate::Codec::new(params, &compression),
        )
    });
    session::run(socket, settings, codecs, inbox, outbox).await
}

/// One end of a WebSocket connection: messages in, messages out.
pub type Endpoint = (mpsc::Receiver<Received>, mpsc::Sender<Outgoing>);

/// Two endpoints linked in memory, without frames or a socket: what one sends, the
/// other receives, and a close (or dropping the outbox) reaches the other side as
/// `Received::Closed`. Test clients use it to talk to a handler in-process. Must be
/// called inside a `LocalSet`.
pub fn in_memory_pair(capacity: usize) -> (Endpoint, Endpoint) {
    let capacity = capacity.max(1);
    let (a_inbox_sender, a_inbox) = mpsc::channel(capacity);
    let (a_outbox, a_outbox_receiver) = mpsc::channel(capacity);
    let (b_inbox_sender, b_inbox) = mpsc::channel(capacity);
    let (b_outbox, b_outbox_receiver) = mpsc::channel(capacity);
    tokio::task::spawn_local(relay(a_outbox_receiver, b_inbox_sender));
    tokio::task::spawn_local(relay(b_outbox_receiver, a_inbox_sender));
    ((a_inbox, a_outbox), (b_inbox, b_outbox))
}

async fn relay(mut from: mpsc::Receiver<Outgoing>, to: mpsc::Sender<Received>) {
    while let Some(message) = from.recv().await {
        let (received, last) = match message {
            Outgoing::Text(text) => (Received::Text(text), false),
            Outgoing::Binary(data) => (Received::Binary(data), false),
            Outgoing::Close { code, reason } => (Received::Closed { code, reason }, true),
        };
        if to.send(received).await.is_err() || last {
            return;
        }
    }
    let _ = to
        .send(Received::Closed {
            code: 1000,
            reason: String::new(),
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn in_memory_pair_relays_both_ways_and_closes() {
        tokio::task::LocalSet::new()
            .run_until(async {
                let ((mut a_in, a_out), (mut b_in, b_out)) = in_memory_pair(4);
                a_out.send(Outgoing::Text("hi".into())).await.unwrap();
                assert!(matches!(b_in.recv().await, Some(Received::Text(t)) if t == "hi"));
                b_out
                    .send(Outgoing::Binary(Bytes::from_static(b"\x01")))
                    .await
                    .unwrap();
                assert!(
                    matches!(a_in.recv().await, Some(Received::Binary(d)) if &d[..] == b"\x01")
                );
                b_out
                    .send(Outgoing::Close {
                        code: 4001,
                        reason: "bye".into(),
                    })
                    .await
                    .unwrap();
                assert!(matches!(
                    a_in.recv().await,
                    Some(Received::Closed { code: 4001, .. })
                ));
                drop(a_out);
                assert!(matches!(
                    b_in.recv().await,
                    Some(Received::Closed { code: 1000, .. })
                ));
            })
            .await;
    }

    #[test]
    fn accept_key_matches_rfc_6455() {
        // The example of RFC 6455 section 1.3.
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
