//! The WebSocket session over an in-memory socket: frame headers, masking, control
//! frames, fragmentation, UTF-8 checks and permessage-deflate (with each combination
//! of context takeover and window size), exactly as `cello_http::websocket::serve`
//! runs them. The first byte picks the deflate parameters; the rest is what the client
//! sends. Every message is echoed back (so the compressor runs too). Invariants: no
//! message handed to the user is larger than `max_message_size` (a deflate bomb ends in
//! 1009, not in memory), and the session always ends with a close code.
#![no_main]

use std::time::Duration;

use cello_http::websocket::{
    serve, DeflateParams, DeflateSettings, Outgoing, Received, WebSocketSettings,
};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MAX_MESSAGE: usize = 4096;

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, frames)) = data.split_first() else {
        return;
    };
    let deflate = (flags & 1 != 0).then_some(DeflateParams {
        server_no_context_takeover: flags & 2 != 0,
        client_no_context_takeover: flags & 4 != 0,
        server_max_window_bits: 9 + (flags >> 3) % 7,
    });
    let settings = WebSocketSettings {
        max_message_size: MAX_MESSAGE,
        ping_interval: None,
        idle_timeout: Duration::from_secs(30),
        inbox_capacity: 4,
        compression: Some(DeflateSettings {
            threshold: 0,
            ..DeflateSettings::default()
        }),
    };
    RUNTIME.with(|runtime| runtime.block_on(session(frames, &settings, deflate)));
});

async fn session(frames: &[u8], settings: &WebSocketSettings, deflate: Option<DeflateParams>) {
    let (client, server) = tokio::io::duplex(16 * 1024);
    let (inbox_sender, mut inbox) = tokio::sync::mpsc::channel(4);
    let (outbox, outbox_receiver) = tokio::sync::mpsc::channel(4);
    let run = async move {
        let closed = serve(server, settings, deflate, &inbox_sender, outbox_receiver).await;
        drop(inbox_sender);
        closed
    };
    let (mut reader, mut writer) = tokio::io::split(client);
    let send = async move {
        let _ = writer.write_all(frames).await;
        let _ = writer.shutdown().await;
    };
    let drain = async move {
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink).await;
    };
    let user = async move {
        while let Some(message) = inbox.recv().await {
            let echo = match message {
                Received::Text(text) => {
                    assert!(text.len() <= MAX_MESSAGE, "a {} byte message", text.len());
                    Outgoing::Text(text)
                }
                Received::Binary(data) => {
                    assert!(data.len() <= MAX_MESSAGE, "a {} byte message", data.len());
                    Outgoing::Binary(data)
                }
                Received::Closed { .. } => break,
            };
            // Never wait on the outbox: the session may be waiting on us.
            if let Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) = outbox.try_send(echo) {
                break;
            }
        }
    };
    let (closed, (), (), ()) = tokio::join!(run, send, drain, user);
    let Received::Closed { code, .. } = closed else {
        panic!("the session ended with {closed:?} instead of a close");
    };
    assert!((1000..5000).contains(&code), "close code {code}");
}
