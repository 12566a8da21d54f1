//! The WebSocket upgrade handshake (`cello_http::websocket::handshake_response`, with
//! permessage-deflate negotiation): the input's lines are `name: value` request
//! headers. Invariants: an accepted handshake answers 101 with a 28-character
//! `Sec-WebSocket-Accept`, picks a subprotocol only among those offered, and agrees
//! a window size in 9..=15 that its `Sec-WebSocket-Extensions` answer states; a refused
//! one is a 4xx.
#![no_main]

use cello_http::websocket::{handshake_response, DeflateSettings, WebSocketSettings};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for line in data.split(|&b| b == b'\n').take(32) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(line[..colon].trim_ascii()),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    let protocols = vec!["chat".to_owned(), "graphql-ws".to_owned()];
    let settings = WebSocketSettings {
        compression: Some(DeflateSettings {
            max_window_bits: 12,
            ..DeflateSettings::default()
        }),
        ..WebSocketSettings::default()
    };
    match handshake_response(&headers, &protocols, &settings) {
        Ok((response, negotiated)) => {
            assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
            let accept = &response.headers()[http::header::SEC_WEBSOCKET_ACCEPT];
            assert_eq!(accept.len(), 28);
            if let Some(chosen) = &negotiated.subprotocol {
                assert!(protocols.contains(chosen));
            }
            if let Some(params) = negotiated.deflate {
                assert!(
                    (9..=12).contains(&params.server_max_window_bits),
                    "{params:?}"
                );
                let answer = response.headers()[http::header::SEC_WEBSOCKET_EXTENSIONS]
                    .to_str()
                    .expect("an ASCII answer");
                assert!(answer.starts_with("permessage-deflate"), "{answer}");
            }
        }
        Err(response) => assert!(response.status().is_client_error()),
    }
});
