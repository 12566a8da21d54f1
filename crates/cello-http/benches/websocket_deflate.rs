//! permessage-deflate throughput of the WebSocket session, with no socket and no Python.
//!
//! `session/*`: a client sends `MESSAGES` compressed 64 KiB binary messages, one at a
//! time, into `websocket::serve` over an in-memory duplex, and an echo task sends each
//! one back, so the server inflates and deflates every message (Cello's own code in
//! `src/websocket/`). The client's frames are compressed and masked before the clock
//! starts and its reads only walk the echoed frames, so a sample is the server's work:
//! unmasking, inflating, deflating and framing.
//!
//! `zlib_rs/*`: the same messages deflated and inflated by flate2 (zlib-rs) directly,
//! at the same level, through an 8 KiB buffer: what the Autobahn client (`kosoku`) does
//! for each message on its side, and the floor under `session/*`.
//!
//! Each runs with context takeover on both sides and without it (what the Autobahn 12.*
//! cases negotiate with `examples/websocket_echo.py`), on text and on a noisy bitmap.
//!
//! Everything runs on the bench thread (a current-thread runtime), and on Linux the
//! times are that thread's CPU time, not wall time: on the shared 2-core build machine
//! other jobs made wall-clock figures of the same code vary by 3x from run to run.
//! Results are in docs/reports/autobahn.md.

use std::time::{Duration, Instant};

use cello_http::websocket::{
    serve, DeflateParams, DeflateSettings, Outgoing, Received, WebSocketSettings,
};
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;

const MESSAGE: usize = 64 * 1024;
/// Messages per sample (one connection each sample).
const MESSAGES: usize = 16;
const LEVEL: u32 = 6;
/// The empty stored block a sync flush ends with (RFC 7692 section 7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// A small deterministic generator, so every run compresses the same bytes.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }
}

/// Words from a small vocabulary: level 6 makes 64 KiB of it about a fifth as large,
/// between the suite's German text (two fifths) and its JSON (a twenty-fifth).
fn text_corpus(len: usize) -> Vec<u8> {
    const WORDS: &str = "der die und Faust Mephistopheles nicht ich zu ein Geist Welt so mit \
                         das Himmel Erde";
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut random = Lcg(7);
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        out.extend_from_slice(words[random.next() as usize % words.len()].as_bytes());
        out.push(if random.next() % 9 == 0 { b'\n' } else { b' ' });
    }
    out.truncate(len);
    out
}

/// An 8-bit grey gradient with noise in the low bits: level 6 leaves 89% of it, as it
/// does of the suite's bitmap (88%, cases 12.2.*).
fn bitmap_corpus(len: usize) -> Vec<u8> {
    let mut random = Lcg(11);
    (0..len)
        .map(|i| {
            let smooth = ((i % 512) / 2 + (i / 512) % 256) / 2;
            (smooth as u32 + random.next() % 24) as u8
        })
        .collect()
}

/// `MESSAGES` consecutive 64 KiB slices of `corpus`, wrapping, as Autobahn takes them.
fn messages(corpus: &[u8]) -> Vec<Vec<u8>> {
    let mut start = 0;
    (0..MESSAGES)
        .map(|_| {
            let message = corpus.iter().cycle().skip(start).take(MESSAGE);
            start = (start + MESSAGE) % corpus.len();
            message.copied().collect()
        })
        .collect()
}

fn new_compressor() -> Compress {
    Compress::new_with_window_bits(Compression::new(LEVEL), false, 15)
}

fn new_decompressor() -> Decompress {
    Decompress::new_with_window_bits(false, 15)
}

/// Deflates one message with a sync flush through an 8 KiB buffer (kosoku's loop).
fn deflate(compressor: &mut Compress, mut input: &[u8], reset: bool) -> Vec<u8> {
    if reset {
        compressor.reset();
    }
    let mut out = Vec::with_capacity(input.len() / 2);
    let mut buffer = [0u8; 8192];
    loop {
        let (before_in, before_out) = (compressor.total_in(), compressor.total_out());
        compressor
            .compress(input, &mut buffer, FlushCompress::Sync)
            .expect("deflate");
        let consumed = (compressor.total_in() - before_in) as usize;
        let produced = (compressor.total_out() - before_out) as usize;
        out.extend_from_slice(&buffer[..produced]);
        input = &input[consumed..];
        if input.is_empty() && produced < buffer.len() {
            break;
        }
    }
    if out.ends_with(&TAIL) {
        out.truncate(out.len() - TAIL.len());
    }
    out
}

/// Inflates one message (its tail put back) through an 8 KiB buffer.
fn inflate(decompressor: &mut Decompress, compressed: &[u8], reset: bool) -> Vec<u8> {
    if reset {
        decompressor.reset(false);
    }
    let whole = [compressed, &TAIL[..]].concat();
    let mut input = &whole[..];
    let mut out = Vec::with_capacity(compressed.len() * 2);
    let mut buffer = [0u8; 8192];
    loop {
        let (before_in, before_out) = (decompressor.total_in(), decompressor.total_out());
        decompressor
            .decompress(input, &mut buffer, FlushDecompress::Sync)
            .expect("inflate");
        let consumed = (decompressor.total_in() - before_in) as usize;
        let produced = (decompressor.total_out() - before_out) as usize;
        out.extend_from_slice(&buffer[..produced]);
        input = &input[consumed..];
        if input.is_empty() && produced < buffer.len() {
            break;
        }
    }
    out
}

/// A masked, compressed, final binary frame from the client.
fn client_frame(payload: &[u8]) -> Vec<u8> {
    let mask = [0x5a, 0x17, 0xc3, 0x8e];
    let mut frame = vec![0x80 | 0x40 | 0x02];
    match payload.len() {
        len @ 0..=125 => frame.push(0x80 | len as u8),
        len @ 126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(
        payload
            .iter()
            .enumerate()
            .map(|(i, byte)| byte ^ mask[i % 4]),
    );
    frame
}

/// The whole conversation of one sample, prepared outside the measurement.
struct Conversation {
    messages: Vec<Vec<u8>>,
    frames: Vec<Vec<u8>>,
    context_takeover: bool,
}

impl Conversation {
    fn new(corpus: &[u8], context_takeover: bool) -> Self {
        let messages = messages(corpus);
        let mut compressor = new_compressor();
        let frames = messages
            .iter()
            .map(|message| client_frame(&deflate(&mut compressor, message, !context_takeover)))
            .collect();
        Self {
            messages,
            frames,
            context_takeover,
        }
    }

    fn settings(&self) -> (WebSocketSettings, DeflateParams) {
        let settings = WebSocketSettings {
            ping_interval: None,
            compression: Some(DeflateSettings {
                level: LEVEL,
                threshold: 0,
                context_takeover: self.context_takeover,
                max_window_bits: 15,
            }),
            ..WebSocketSettings::default()
        };
        let params = DeflateParams {
            server_no_context_takeover: !self.context_takeover,
            client_no_context_takeover: !self.context_takeover,
            server_max_window_bits: 15,
        };
        (settings, params)
    }
}

/// Reads one server frame; returns its payload (compressed) in `payload`.
async fn read_frame(socket: &mut DuplexStream, payload: &mut Vec<u8>) -> u8 {
    let mut head = [0u8; 2];
    socket.read_exact(&mut head).await.expect("frame header");
    let len = match head[1] & 0x7f {
        126 => usize::from(socket.read_u16().await.expect("length")),
        127 => usize::try_from(socket.read_u64().await.expect("length")).expect("length"),
        len => usize::from(len),
    };
    payload.resize(len, 0);
    socket.read_exact(payload).await.expect("frame payload");
    head[0]
}

/// One connection: every message out and its echo back. With `check`, the echoes are
/// inflated and compared with what was sent.
async fn converse(conversation: &Conversation, check: bool) {
    let (settings, params) = conversation.settings();
    let (mut client, server_side) = tokio::io::duplex(256 * 1024);
    let (inbox_sender, mut inbox) = mpsc::channel(settings.inbox_capacity);
    let (outbox, outbox_receiver) = mpsc::channel(settings.inbox_capacity);
    let server = async move {
        serve(
            server_side,
            &settings,
            Some(params),
            &inbox_sender,
            outbox_receiver,
        )
        .await
    };
    let echo = async move {
        while let Some(received) = inbox.recv().await {
            match received {
                Received::Binary(data) => {
                    let _ = outbox.send(Outgoing::Binary(data)).await;
                }
                Received::Text(_) => panic!("the bench sends binary messages"),
                Received::Closed { .. } => break,
            }
        }
    };
    let talk = async move {
        let mut payload = Vec::new();
        let mut decompressor = new_decompressor();
        for (frame, message) in conversation.frames.iter().zip(&conversation.messages) {
            client.write_all(frame).await.expect("send");
            let first = read_frame(&mut client, &mut payload).await;
            assert_eq!(first, 0x80 | 0x40 | 0x02, "a compressed final binary frame");
            if check {
                let back = inflate(&mut decompressor, &payload, !conversation.context_takeover);
                assert!(back == *message, "the echo differs from the message");
            }
        }
        // Close (1000, masked with a zero key) and read the server's answer.
        client
            .write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8])
            .await
            .expect("close");
        assert_eq!(read_frame(&mut client, &mut payload).await, 0x88);
    };
    let (closed, (), ()) = tokio::join!(server, echo, talk);
    assert!(matches!(closed, Received::Closed { code: 1000, .. }));
}

/// CPU time used by this thread so far, from `/proc/thread-self/stat` (`None` where
/// there is no such file). Its resolution is a clock tick (10 ms), so samples are made
/// long (see `sampling_mode`).
fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // The command name is in parentheses and may hold spaces: count fields after it.
    // utime and stime are fields 14 and 15 of the line, 12th and 13th after the name.
    let mut fields = stat.get(stat.rfind(')')? + 2..)?.split(' ').skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    // /proc counts in USER_HZ, which is 100 on every Linux.
    Some(Duration::from_millis((user + system) * 10))
}

/// Runs `work` `iterations` times; the thread's CPU time it took, or the wall time
/// where CPU time cannot be read.
fn measure(iterations: u64, mut work: impl FnMut()) -> Duration {
    let (wall, cpu) = (Instant::now(), thread_cpu_time());
    for _ in 0..iterations {
        work();
    }
    match (cpu, thread_cpu_time()) {
        (Some(start), Some(end)) => end - start,
        _ => wall.elapsed(),
    }
}

fn deflate_throughput(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let corpora = [
        ("text", text_corpus(222 * 1024)),
        ("bitmap", bitmap_corpus(257 * 1024)),
    ];
    let mut group = c.benchmark_group("websocket_deflate");
    group
        .sample_size(10)
        // Samples of equal length, each about 50 clock ticks of CPU time.
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Bytes((MESSAGES * MESSAGE) as u64));
    for (data, corpus) in &corpora {
        for context_takeover in [true, false] {
            let mode = if context_takeover {
                "context_takeover"
            } else {
                "no_context_takeover"
            };
            let name = format!("{data}/{mode}");
            let conversation = Conversation::new(corpus, context_takeover);
            runtime.block_on(converse(&conversation, true));
            group.bench_function(BenchmarkId::new("session", &name), |b| {
                b.iter_custom(|iterations| {
                    measure(iterations, || {
                        runtime.block_on(converse(&conversation, false));
                    })
                });
            });
            group.bench_function(BenchmarkId::new("zlib_rs", &name), |b| {
                let mut compressor = new_compressor();
                let mut decompressor = new_decompressor();
                b.iter_custom(|iterations| {
                    measure(iterations, || {
                        for message in &conversation.messages {
                            let compressed = deflate(&mut compressor, message, !context_takeover);
                            let back = inflate(&mut decompressor, &compressed, !context_takeover);
                            assert_eq!(back.len(), message.len());
                        }
                    })
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, deflate_throughput);
criterion_main!(benches);
