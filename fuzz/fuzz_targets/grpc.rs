//! A gRPC request as Cello's server reads it (`cello_protocols::grpc`): the call head
//! (`grpc-timeout`, `grpc-encoding`, metadata with base64 `-bin` values) and the body's
//! length-prefixed messages, gzip-inflated under the size limit, fed in arbitrary chunks.
//! Input: line 1 is `grpc-timeout`, line 2 a `-bin` metadata value, line 3
//! `grpc-encoding`; the rest is the body, cut into chunks at the sizes its first byte
//! picks. Invariants: no message exceeds the limit, a parsed timeout is at most eight
//! digits of hours, a `-bin` value encoded back decodes to itself, and messages re-framed
//! decode to the same messages. Each message is also read as a `demo.User` by
//! reflection (`ProtoSet::to_json`, the dict API's decoder): a message that reads
//! writes back (`from_json`) to one that reads as the same JSON value (a map's entries
//! in any order).
#![no_main]

use bytes::BytesMut;
use cello_protocols::grpc::{
    decode_binary, decode_frames, encode_binary, encode_frame, parse_timeout, CallHead, Decoder,
    Encoding,
};
use std::sync::OnceLock;

use cello_protocols::grpc::ProtoSet;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

const MAX: usize = 4096;

const USERS: &str = r#"syntax = "proto3";
package demo;
enum Role { MEMBER = 0; ADMIN = 1; }
message Address { string city = 1; fixed32 zip = 2; }
message User {
  int64 id = 1; string name = 2; repeated string tags = 3; Role role = 4;
  Address address = 5; map<string, double> scores = 6; bytes avatar = 7;
  oneof contact { string email = 8; sint64 phone = 9; }
}
"#;

fn users() -> &'static ProtoSet {
    static SET: OnceLock<ProtoSet> = OnceLock::new();
    SET.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("cello-fuzz-grpc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        std::fs::write(dir.join("users.proto"), USERS).expect("the proto written");
        ProtoSet::compile(&["users.proto".into()], &[dir]).expect("the fuzz proto compiles")
    })
}

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
                    if let Ok(json) = users().to_json("demo.User", &message) {
                        let again = users().from_json("demo.User", &json).expect("read JSON writes back");
                        let json_again = users().to_json("demo.User", &again).expect("written reads");
                        // Compared as JSON values: a map's entries come out in any order.
                        let value = |bytes: &[u8]| serde_json::from_slice::<serde_json::Value>(bytes).expect("JSON");
                        assert_eq!(value(&json_again), value(&json));
                    }
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
