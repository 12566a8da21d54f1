//! The WebSocket session: messages out as frames, events in from the `Reader`, pings,
//! the idle timer and the closing handshake.

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::deflate::Codec;
use super::frame::{self, OpCode};
use super::reader::{Event, Reader};
use super::{Outgoing, Received, WebSocketSettings};

/// Payloads up to this size are copied next to their header and written at once.
const COALESCE: usize = 16 * 1024;

/// Writes frames; owns the compressor side of the codec.
struct Writer {
    scratch: BytesMut,
    codec: Option<Codec>,
    timeout: Duration,
}

impl Writer {
    async fn frame<S: AsyncWrite + Unpin>(
        &mut self,
        socket: &mut S,
        opcode: OpCode,
        payload: &[u8],
    ) -> std::io::Result<()> {
        let compressed = match (&mut self.codec, opcode) {
            (Some(codec), OpCode::Text | OpCode::Binary) => codec.compress(payload),
            _ => None,
        };
        let (rsv1, payload) = match &compressed {
            Some(compressed) => (true, &compressed[..]),
            None => (false, payload),
        };
        self.scratch.clear();
        frame::write_header(&mut self.scratch, opcode, rsv1, payload.len());
        let write = async {
            if payload.len() <= COALESCE {
                self.scratch.extend_from_slice(payload);
                socket.write_all(&self.scratch).await?;
            } else {
                socket.write_all(&self.scratch).await?;
                socket.write_all(payload).await?;
            }
            socket.flush().await
        };
        let result = tokio::time::timeout(self.timeout, write)
            .await
            .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()));
        if self.scratch.capacity() > 4 * COALESCE {
            self.scratch = BytesMut::new();
        }
        result
    }

    async fn close<S: AsyncWrite + Unpin>(
        &mut self,
        socket: &mut S,
        code: u16,
        reason: &str,
    ) -> std::io::Result<()> {
        let mut payload = Vec::with_capacity(2 + reason.len());
        payload.extend_from_slice(&code.to_be_bytes());
        // Control payloads are at most 125 bytes: cut the reason at a character boundary.
        let mut end = reason.len().min(123);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        payload.extend_from_slice(&reason.as_bytes()[..end]);
        self.frame(socket, OpCode::Close, &payload).await
    }
}

/// Runs a session until the connection ends, and says how it ended.
pub(crate) async fn run<S>(
    mut socket: S,
    settings: &WebSocketSettings,
    codec: Option<(Codec, Codec)>,
    inbox: &mpsc::Sender<Received>,
    mut outbox: mpsc::Receiver<Outgoing>,
) -> Received
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (read_codec, write_codec) = codec.map_or((None, None), |(r, w)| (Some(r), Some(w)));
    let mut reader = Reader::new(settings.max_message_size, read_codec);
    let mut writer = Writer {
        scratch: BytesMut::new(),
        codec: write_codec,
        timeout: settings.idle_timeout,
    };
    let mut ping = settings
        .ping_interval
        .map(|every| tokio::time::interval_at(tokio::time::Instant::now() + every, every));
    let mut last_heard = tokio::time::Instant::now();
    // A message the handler has not taken yet: while it waits, the socket is not read
    // (TCP pushes back on the peer) but sends still go out.
    let mut pending: Option<Received> = None;
    loop {
        while pending.is_none() {
            match reader.next_event() {
                Ok(None) => break,
                Ok(Some(Event::Text(text))) => pending = Some(Received::Text(text)),
                Ok(Some(Event::Binary(data))) => pending = Some(Received::Binary(data)),
                Ok(Some(Event::Ping(payload))) => {
                    if writer
                        .frame(&mut socket, OpCode::Pong, &payload)
                        .await
                        .is_err()
                    {
                        return lost();
                    }
                }
                Ok(Some(Event::Pong)) => {}
                Ok(Some(Event::Close(code, reason))) => {
                    // Echo the code (1000 when the peer sent none), then end the TCP
                    // connection: the server closes first (RFC 6455 section 7.1.1).
                    let echo = if code == 1005 { 1000 } else { code };
                    let _ = writer.close(&mut socket, echo, "").await;
                    let _ = socket.shutdown().await;
                    return Received::Closed { code, reason };
                }
                Err(failure) => {
                    return close_with(
                        &mut socket,
                        &mut reader,
                        &mut writer,
                        failure.code(),
                        &failure.reason(),
                    )
                    .await;
                }
            }
        }
        let idle_deadline = last_heard + settings.idle_timeout;
        tokio::select! {
            permit = inbox.reserve(), if pending.is_some() => match permit {
                Ok(permit) => {
                    if let Some(message) = pending.take() {
                        permit.send(message);
                    }
                }
                Err(_) => return close_with(&mut socket, &mut reader, &mut writer, 1000, "").await,
            },
            read = read_some(&mut socket, &mut reader), if pending.is_none() => match read {
                Ok(0) | Err(_) => return lost(),
                Ok(_) => last_heard = tokio::time::Instant::now(),
            },
            command = outbox.recv() => {
                let sent = match command {
                    Some(Outgoing::Text(text)) => writer.frame(&mut socket, OpCode::Text, text.as_bytes()).await,
                    Some(Outgoing::Binary(data)) => writer.frame(&mut socket, OpCode::Binary, &data).await,
                    Some(Outgoing::Close { code, reason }) => {
                        return close_with(&mut socket, &mut reader, &mut writer, code, &reason).await;
                    }
                    None => return close_with(&mut socket, &mut reader, &mut writer, 1000, "").await,
                };
                if sent.is_err() {
                    return Received::Closed { code: 1006, reason: "connection lost while sending".into() };
                }
            }
            _ = async { match ping.as_mut() { Some(timer) => timer.tick().await, None => std::future::pending().await } } => {
                if writer.frame(&mut socket, OpCode::Ping, b"").await.is_err() {
                    return lost();
                }
            }
            () = tokio::time::sleep_until(idle_deadline), if pending.is_none() => {
                return close_with(&mut socket, &mut reader, &mut writer, 1001, "idle timeout").await;
            }
        }
    }
}

async fn read_some<S: AsyncRead + Unpin>(
    socket: &mut S,
    reader: &mut Reader,
) -> std::io::Result<usize> {
    reader.prepare_read();
    socket.read_buf(&mut reader.buf).await
}

fn lost() -> Received {
    Received::Closed {
        code: 1006,
        reason: "connection lost".into(),
    }
}

/// Sends our close frame, waits up to two seconds for the peer's (discarding
/// anything else it sends meanwhile), closes the connection and reports our code.
async fn close_with<S>(
    socket: &mut S,
    reader: &mut Reader,
    writer: &mut Writer,
    code: u16,
    reason: &str,
) -> Received
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if writer.close(socket, code, reason).await.is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                match reader.next_event() {
                    Ok(Some(Event::Close(..))) | Err(_) => return,
                    Ok(Some(_)) => continue,
                    Ok(None) => {}
                }
                if !matches!(read_some(socket, reader).await, Ok(n) if n > 0) {
                    return;
                }
            }
        })
        .await;
        let _ = socket.shutdown().await;
    }
    Received::Closed {
        code,
        reason: reason.to_owned(),
    }
}
