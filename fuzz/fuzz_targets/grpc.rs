//! A gRPC request as Cello's server reads it (`cello_protocols::grpc`): the call head
//! (`grpc-timeout`, `grpc-encoding`, metadata with base64 `-bin` values) and the body's
//! length-prefixed messages, gzip-inflated under the size limit, fed in arbitrary chunks.
//! Input: line 1 is `grpc-timeout`, line 2 a `-bin` metadata value, line 3
//! `grpc-encoding`; the rest is the body, cut into chunks at the sizes its first byte
//! picks. Invariants: no message exceeds the limit, a parsed timeout is at most eight
//! digits of hours, a `-bin` value encoded back decodes to itself, and messages re-framed
//! decode to the same messages.
#![no_main]

use bytes::BytesMut;
use cello_protocols::grpc::{
    decode_binary, decode_frames, encode_binary, encode_frame, parse_timeout, CallHead, Decoder,
    Encoding,
};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

const MAX: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |&b| b == b'\n');
    let timeout = parts.next().unwrap_or_default();
    let binary = parts.next().unwrap_or_default();
    let encoding = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();

    if let Ok(text) = std::str::from_utf8(timeout) {
        if let Some(duration) = parse_timeout(text) {
            assert!(duration.as_secs() <= 99_999_999 * 3600);
        }
    }
    if let Some(value) = decode_binary(binary) {
        assert_eq!(decode_binary(encode_binary(&value).as_bytes()), Some(value));
    }
    let mut headers = HeaderMap::new();
    for (name, value) in [("grpc-timeout", timeout), ("x-data-bin", binary), ("grpc-encoding", encoding)] {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.insert(name, value);
        }
    }
    let encoding = match CallHead::parse("/pkg.Service/Method", &headers) {
        Ok(head) => head.request_encoding,
        Err(status) => {
            assert!(status.code != 0);
            Encoding::Gzip
        }
    };

    let step = usize::from(body.first().copied().unwrap_or(1)).max(1);
    let mut decoder = Decoder::new(MAX, encoding);
    let mut messages = Vec::new();
    'feed: for chunk in body.chunks(step) {
        decoder.push(chunk);
        loop {
            match decoder.next_message() {
                Ok(Some(message)) => {
                    assert!(message.len() <= MAX);
                    messages.push(message);
                }
                Ok(None) => break,
                Err(_) => break 'feed,
            }
        }
    }
    let mut again = BytesMut::new();
    for message in &messages {
        again.extend_from_slice(&encode_frame(message));
    }
    assert_eq!(decode_frames(&mut again, MAX).expect("re-framed messages decode"), messages);
    assert!(again.is_empty());
});
