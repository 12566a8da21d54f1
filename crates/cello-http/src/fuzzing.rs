//! In-memory entry points for the fuzz targets (`fuzz/`, `make fuzz`), behind the
//! `fuzzing` feature: the engine's own connection driver (hyper's HTTP/1.1 or HTTP/2
//! with every limit of [`HttpConfig`], panic containment, HEAD stripping) over a
//! byte pipe instead of a socket. Not API: no semver promise.

use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::HttpConfig;
use crate::connection::{serve_connection, Protocol};
use crate::server::{ConnInfo, Handler};

/// What a client that opens with these bytes selects: HTTP/2 with prior knowledge
/// after the preface, HTTP/1.1 otherwise (the rule of the cleartext listener).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Serves one connection whose client sends `input` and then closes its sending side,
/// and returns every byte the server wrote until it closed the connection. Must run
/// inside a `LocalSet` (HTTP/2 streams are spawned on it).
pub async fn serve_bytes<H: Handler>(handler: Rc<H>, config: &HttpConfig, input: &[u8]) -> Vec<u8> {
    let protocol = if config.http2 && input.starts_with(H2_PREFACE) {
        Protocol::Http2
    } else {
        Protocol::Http1
    };
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let local = SocketAddr::from((Ipv4Addr::LOCALHOST, 8000));
    let info = ConnInfo {
        peer: SocketAddr::from((Ipv4Addr::LOCALHOST, 40000)),
        local,
        secure: false,
    };
    // The sender stays alive for the whole call: a dropped sender reads as shutdown.
    let (_shutdown, receiver) = tokio::sync::watch::channel(false);
    let config = config.clone();
    let connection = tokio::task::spawn_local(async move {
        serve_connection(server, protocol, info, handler, &config, receiver, None).await;
    });
    let (mut reader, mut writer) = tokio::io::split(&mut client);
    let send = async {
        // The server may stop reading (a refused request); what it did not read is lost.
        let _ = writer.write_all(input).await;
        let _ = writer.shutdown().await;
    };
    let mut output = Vec::new();
    let receive = reader.read_to_end(&mut output);
    let ((), _) = tokio::join!(send, receive);
    let _ = connection.await;
    output
}
