use std::cell::RefCell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::task::Poll;

use bytes::Bytes;
use cello_http::{Response, ResponseBody};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::negotiate::{negotiate, Coding};
use super::{Compression, CompressionConfig};
use crate::request_id::{RequestId, RequestIdConfig};
use crate::test_support::{chain, channel, poll_next_frame, request, respond, stream, Outcome};

/// About 4 KiB of JSON: over the default `min_size`, and compressible.
fn json() -> Bytes {
    let items: Vec<String> = (0..60)
        .map(|i| format!("{{\"id\":{i},\"name\":\"item number {i}\",\"in_stock\":true}}"))
        .collect();
    Bytes::from(format!("[{}]", items.join(",")))
}

fn layer(config: &CompressionConfig) -> crate::Chain {
    chain(vec![Compression::new(config).unwrap().into()])
}

fn response(body: ResponseBody, headers: &[(&str, &str)]) -> Response {
    let mut response = Response::new(body);
    for (name, value) in headers {
        response.headers_mut().append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    response
}

/// A JSON answer (`headers` added) to a GET accepting `accept`, through `chain`.
async fn get(chain: &crate::Chain, accept: &str, headers: &[(&str, &str)]) -> Outcome {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    let answer = response(ResponseBody::full(json()), &all);
    respond(
        chain,
        request("GET", "/", &[("accept-encoding", accept)]),
        answer,
    )
    .await
}

fn decode(coding: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match coding {
        "gzip" => flate2::read::GzDecoder::new(body)
            .read_to_end(&mut out)
            .map(drop),
        "br" => brotli::Decompressor::new(body, 4096)
            .read_to_end(&mut out)
            .map(drop),
        "zstd" => zstd::stream::read::Decoder::new(body)
            .unwrap()
            .read_to_end(&mut out)
            .map(drop),
        other => panic!("no decoder for {other}"),
    }
    .unwrap();
    out
}

fn encoded(out: &Outcome) -> Option<&str> {
    out.headers
        .get("content-encoding")
        .map(|v| v.to_str().unwrap())
}

fn varies(out: &Outcome) -> bool {
    out.headers
        .get_all("vary")
        .iter()
        .any(|v| v == "Accept-Encoding")
}

#[test]
fn negotiation_follows_q_values_then_server_preference() {
    let all = |_: Coding| true;
    let no_brotli = |coding: Coding| coding != Coding::Brotli;
    type Enabled = dyn Fn(Coding) -> bool;
    let cases: &[(&[&str], &Enabled, Option<Coding>)] = &[
        (&[], &all, None),
        (&[""], &all, None),
        (&["gzip"], &all, Some(Coding::Gzip)),
        (&["GZip"], &all, Some(Coding::Gzip)),
        (&["x-gzip"], &all, Some(Coding::Gzip)),
        (&["gzip, deflate, br, zstd"], &all, Some(Coding::Brotli)),
        (&["gzip, deflate, br, zstd"], &no_brotli, Some(Coding::Zstd)),
        (&["gzip, zstd"], &all, Some(Coding::Zstd)),
        (&["deflate, compress"], &all, None),
        (&["br;q=0.5, gzip"], &all, Some(Coding::Gzip)),
        (
            &["br;q=0.5, zstd;q=0.5, gzip;q=0.5"],
            &all,
            Some(Coding::Brotli),
        ),
        (&["gzip;q=0.9, br;q=0.8"], &all, Some(Coding::Gzip)),
        (&["br;q=0.001"], &all, Some(Coding::Brotli)),
        (&["br ; q=0.2 , gzip ;Q=0.3"], &all, Some(Coding::Gzip)),
        // `*` covers the codings not named; a named one keeps its own q-value.
        (&["*"], &all, Some(Coding::Brotli)),
        (&["*;q=0.5, gzip"], &all, Some(Coding::Gzip)),
        (&["*, br;q=0"], &all, Some(Coding::Zstd)),
        (&["*;q=0"], &all, None),
        (&["*;q=0, gzip"], &all, Some(Coding::Gzip)),
        // q=0 excludes.
        (&["br;q=0, zstd;q=0, gzip;q=0"], &all, None),
        (&["gzip;q=0, br"], &no_brotli, None),
        // identity: wins only when preferred; nothing acceptable still means identity.
        (&["identity"], &all, None),
        (&["identity;q=0"], &all, None),
        (&["gzip;q=0.4, identity;q=0.5"], &all, None),
        (&["gzip;q=0.5, identity;q=0.5"], &all, Some(Coding::Gzip)),
        (&["identity;q=0, gzip"], &all, Some(Coding::Gzip)),
        (&["br;q=0.5, *"], &all, Some(Coding::Zstd)),
        // Malformed q-values ignore their entry; the first entry for a name counts.
        (&["gzip;q=1.5"], &all, None),
        (&["gzip;q=0.1234"], &all, None),
        (&["gzip;q=abc, br"], &all, Some(Coding::Brotli)),
        (&["gzip;q=1."], &all, Some(Coding::Gzip)),
        (&["br;q=0, br"], &all, None),
        // Several header lines are one list.
        (&["br;q=0", "gzip"], &all, Some(Coding::Gzip)),
    ];
    for (values, enabled, expected) in cases {
        let values: Vec<HeaderValue> = values
            .iter()
            .map(|v| HeaderValue::from_str(v).unwrap())
            .collect();
        assert_eq!(
            negotiate(values.iter(), enabled),
            *expected,
            "Accept-Encoding: {values:?}"
        );
    }
}

#[tokio::test]
async fn each_coding_round_trips_with_its_headers() {
    let chain = layer(&CompressionConfig::default());
    for coding in ["gzip", "br", "zstd"] {
        let out = get(&chain, coding, &[("accept-ranges", "bytes")]).await;
        assert_eq!(out.status, StatusCode::OK);
        assert_eq!(encoded(&out), Some(coding));
        assert!(
            out.body.len() < json().len() / 2,
            "{coding}: {}",
            out.body.len()
        );
        assert_eq!(out.headers["content-length"], out.body.len().to_string());
        assert_eq!(decode(coding, &out.body), json());
        assert!(varies(&out));
        assert!(!out.headers.contains_key("accept-ranges"), "{coding}");
    }
}

#[tokio::test]
async fn every_level_in_range_round_trips() {
    for level in [1, 9] {
        let config = CompressionConfig {
            gzip_level: level,
            ..CompressionConfig::default()
        };
        let out = get(&layer(&config), "gzip", &[]).await;
        assert_eq!(decode("gzip", &out.body), json());
    }
    for level in [0, 11] {
        let config = CompressionConfig {
            brotli_level: level,
            ..CompressionConfig::default()
        };
        let out = get(&layer(&config), "br", &[]).await;
        assert_eq!(decode("br", &out.body), json());
    }
    for level in [1, 19] {
        let config = CompressionConfig {
            zstd_level: level,
            ..CompressionConfig::default()
        };
        let out = get(&layer(&config), "zstd", &[]).await;
        assert_eq!(decode("zstd", &out.body), json());
    }
}

#[tokio::test]
async fn switched_off_codings_are_not_used() {
    let config = CompressionConfig {
        brotli: false,
        zstd: false,
        ..CompressionConfig::default()
    };
    let out = get(&layer(&config), "br, zstd, gzip;q=0.1", &[]).await;
    assert_eq!(encoded(&out), Some("gzip"));
    let out = get(&layer(&config), "br, zstd", &[]).await;
    assert_eq!(encoded(&out), None);
    assert!(varies(&out));
}

#[tokio::test]
async fn identity_answers_still_vary_on_accept_encoding() {
    let chain = layer(&CompressionConfig::default());
    for accept in ["identity", "deflate", "gzip;q=0, br;q=0, zstd;q=0"] {
        let out = get(&chain, accept, &[]).await;
        assert_eq!(encoded(&out), None, "{accept}");
        assert_eq!(out.body, json());
        assert!(varies(&out), "{accept}");
    }
    let answer = response(ResponseBody::full(json()), &[]);
    let out = respond(&chain, request("GET", "/", &[]), answer).await;
    assert_eq!((encoded(&out), varies(&out)), (None, true));
}

#[tokio::test]
async fn existing_vary_is_kept() {
    let chain = layer(&CompressionConfig::default());
    let out = get(&chain, "gzip", &[("vary", "Origin")]).await;
    let vary: Vec<_> = out.headers.get_all("vary").iter().collect();
    assert_eq!(vary, ["Origin", "Accept-Encoding"]);
    let out = get(&chain, "gzip", &[("vary", "accept-encoding")]).await;
    assert_eq!(out.headers.get_all("vary").iter().count(), 1);
}

#[tokio::test]
async fn head_requests_are_not_compressed_but_vary() {
    let chain = layer(&CompressionConfig::default());
    let answer = response(ResponseBody::full(json()), &[]);
    let head = request("HEAD", "/", &[("accept-encoding", "gzip")]);
    let out = respond(&chain, head, answer).await;
    assert_eq!(encoded(&out), None);
    assert_eq!(out.body, json());
    assert!(varies(&out));
}

/// Responses the layer leaves alone, with no `Vary`: they are the same whatever the
/// client accepts.
#[tokio::test]
async fn skipped_responses_are_untouched() {
    let chain = layer(&CompressionConfig::default());
    let statuses = [
        StatusCode::SWITCHING_PROTOCOLS,
        StatusCode::NO_CONTENT,
        StatusCode::PARTIAL_CONTENT,
        StatusCode::NOT_MODIFIED,
    ];
    for status in statuses {
        let mut answer = response(ResponseBody::full(json()), &[]);
        *answer.status_mut() = status;
        let out = respond(
            &chain,
            request("GET", "/", &[("accept-encoding", "gzip")]),
            answer,
        )
        .await;
        assert_eq!((encoded(&out), varies(&out)), (None, false), "{status}");
    }
    let skipped_headers: &[&[(&str, &str)]] = &[
        &[("content-encoding", "gzip")],
        &[("content-encoding", "identity")],
        &[("content-range", "bytes 0-99/5000")],
        &[("cache-control", "public, No-Transform")],
        &[
            ("cache-control", "max-age=60"),
            ("cache-control", "no-transform"),
        ],
    ];
    for headers in skipped_headers {
        let out = get(&chain, "gzip", headers).await;
        // Never encoded twice: the body is the handler's, its headers untouched.
        assert!(out.headers.get_all("content-encoding").iter().count() <= 1);
        assert_eq!(out.body, json(), "{headers:?}");
        assert!(!varies(&out), "{headers:?}");
    }
}

#[tokio::test]
async fn content_types_decide() {
    let chain = layer(&CompressionConfig::default());
    let compressed = [
        "application/json",
        "text/html; charset=utf-8",
        "TEXT/CSS",
        "application/javascript",
        "image/svg+xml",
        "application/grpc-web+proto",
        "application/wasm",
        "font/ttf",
        "text/event-stream",
        "application/x-tar",
    ];
    let skipped = [
        "image/png",
        "IMAGE/JPEG",
        "image/webp",
        "audio/mpeg",
        "video/mp4",
        "font/woff2",
        "font/woff",
        "application/zip",
        "application/gzip",
        "application/zstd",
        "application/octet-stream",
        "application/pdf",
        "application/grpc",
        "application/grpc+proto",
        "application/epub+zip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/problem+json",
    ];
    for (types, expected) in [(&compressed[..], Some("gzip")), (&skipped[..], None)] {
        for content_type in types {
            let answer = response(
                ResponseBody::full(json()),
                &[("content-type", content_type)],
            );
            let get = request("GET", "/", &[("accept-encoding", "gzip")]);
            let out = respond(&chain, get, answer).await;
            assert_eq!(encoded(&out), expected, "{content_type}");
            assert_eq!(varies(&out), expected.is_some(), "{content_type}");
        }
    }
}

#[tokio::test]
async fn bodies_under_min_size_are_sent_as_they_are() {
    let body = "a".repeat(1024);
    let chain = layer(&CompressionConfig::default());
    for (length, expected) in [(1023, None), (1024, Some("gzip")), (0, None)] {
        let answer = response(ResponseBody::full(body[..length].to_owned()), &[]);
        let out = respond(
            &chain,
            request("GET", "/", &[("accept-encoding", "gzip")]),
            answer,
        )
        .await;
        assert_eq!(encoded(&out), expected, "{length} bytes");
        assert_eq!(varies(&out), expected.is_some());
    }
    let everything = layer(&CompressionConfig {
        min_size: 0,
        ..CompressionConfig::default()
    });
    let answer = response(
        ResponseBody::full("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        &[],
    );
    let out = respond(
        &everything,
        request("GET", "/", &[("accept-encoding", "gzip")]),
        answer,
    )
    .await;
    assert_eq!(encoded(&out), Some("gzip"));
}

#[tokio::test]
async fn bodies_that_would_grow_are_sent_as_they_are() {
    let noise: Vec<u8> = (0..4096).map(|_| fastrand::u8(..)).collect();
    let chain = layer(&CompressionConfig::default());
    let answer = response(
        ResponseBody::full(noise.clone()),
        &[("content-type", "text/plain")],
    );
    let out = respond(
        &chain,
        request("GET", "/", &[("accept-encoding", "gzip")]),
        answer,
    )
    .await;
    assert_eq!(encoded(&out), None);
    assert_eq!(out.body, noise);
    assert!(varies(&out));
}

#[tokio::test]
async fn strong_etags_become_weak_when_compressed() {
    let chain = layer(&CompressionConfig::default());
    let out = get(&chain, "br", &[("etag", "\"v1\"")]).await;
    assert_eq!(out.headers["etag"], "W/\"v1\"");
    let out = get(&chain, "br", &[("etag", "W/\"v1\"")]).await;
    assert_eq!(out.headers["etag"], "W/\"v1\"");
    let out = get(&chain, "identity", &[("etag", "\"v1\"")]).await;
    assert_eq!(out.headers["etag"], "\"v1\"");
}

#[tokio::test]
async fn content_length_is_the_compressed_one_or_none_for_streams() {
    let chain = layer(&CompressionConfig::default());
    let length = json().len().to_string();
    let out = get(&chain, "zstd", &[("content-length", &length)]).await;
    assert_eq!(out.headers["content-length"], out.body.len().to_string());
    // A file of known length, streamed.
    let line = format!("{}\n", "x".repeat(499));
    let file = stream(&[line.as_str(); 3], None, Some(1500));
    let answer = response(file, &[("content-length", "1500")]);
    let out = respond(
        &chain,
        request("GET", "/", &[("accept-encoding", "zstd")]),
        answer,
    )
    .await;
    assert_eq!(encoded(&out), Some("zstd"));
    assert!(!out.headers.contains_key("content-length"));
    assert_eq!(decode("zstd", &out.body), line.repeat(3).as_bytes());
}

#[tokio::test]
async fn streams_are_skipped_only_when_known_to_be_small() {
    let chain = layer(&CompressionConfig::default());
    let cases = [
        // A file of 20 bytes: small and known.
        (stream(&["0123456789"; 2], None, Some(20)), &[][..], None),
        // The same declared by Content-Length.
        (
            stream(&["0123456789"; 2], None, None),
            &[("content-length", "20")][..],
            None,
        ),
        // Unknown length: compressed, however short it turns out.
        (
            stream(&["0123456789"; 2], None, None),
            &[][..],
            Some("gzip"),
        ),
        (stream(&[], None, None), &[][..], None),
    ];
    for (body, headers, expected) in cases {
        let answer = response(body, headers);
        let out = respond(
            &chain,
            request("GET", "/", &[("accept-encoding", "gzip")]),
            answer,
        )
        .await;
        assert_eq!(encoded(&out), expected, "{headers:?}");
    }
}

/// What a decoder has written so far.
#[derive(Clone, Default)]
struct Sink(Rc<RefCell<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Decodes a coding fed a piece at a time, as a client does.
struct Incremental {
    decoder: Box<dyn Write>,
    decoded: Sink,
}

impl Incremental {
    fn new(coding: &str) -> Self {
        let decoded = Sink::default();
        let sink = decoded.clone();
        let decoder: Box<dyn Write> = match coding {
            "gzip" => Box::new(flate2::write::GzDecoder::new(sink)),
            "br" => Box::new(brotli::DecompressorWriter::new(sink, 4096)),
            "zstd" => Box::new(zstd::stream::write::Decoder::new(sink).unwrap()),
            other => panic!("no decoder for {other}"),
        };
        Self { decoder, decoded }
    }

    /// Feeds `encoded`; returns everything decoded so far.
    fn feed(&mut self, encoded: &[u8]) -> Vec<u8> {
        self.decoder.write_all(encoded).unwrap();
        self.decoder.flush().unwrap();
        self.decoded.0.borrow().clone()
    }
}

/// Each event is sent as soon as the handler produces it, and the client can decode
/// it at once, while the stream stays open.
#[tokio::test]
async fn every_streamed_chunk_is_decodable_as_soon_as_it_is_sent() {
    let chain = layer(&CompressionConfig::default());
    let events: Vec<String> = (0..5)
        .map(|i| {
            format!(
                "event: tick\ndata: {{\"n\":{i},\"text\":\"{}\"}}\n\n",
                "x".repeat(i * 40)
            )
        })
        .collect();
    for coding in ["gzip", "br", "zstd"] {
        let (sender, body) = channel();
        let answer = response(body, &[("content-type", "text/event-stream")]);
        let get = request("GET", "/events", &[("accept-encoding", coding)]);
        let mut response = chain.run(get, None, |_| async move { answer }).await;
        assert_eq!(response.headers()["content-encoding"], coding);
        let body = response.body_mut();
        let mut decoder = Incremental::new(coding);
        let mut sent = Vec::new();
        for event in &events {
            assert!(
                poll_next_frame(body).is_pending(),
                "{coding}: nothing to send yet"
            );
            sender.send(Bytes::from(event.clone())).unwrap();
            sent.extend_from_slice(event.as_bytes());
            let Poll::Ready(Some(frame)) = poll_next_frame(body) else {
                panic!("{coding}: the event was not sent");
            };
            let decoded = decoder.feed(frame.data_ref().unwrap());
            assert_eq!(decoded, sent, "{coding}: decoded so far");
        }
        drop(sender);
        while let Poll::Ready(Some(frame)) = poll_next_frame(body) {
            decoder.feed(frame.data_ref().unwrap());
        }
        assert!(poll_next_frame(body).is_ready());
        assert_eq!(decoder.feed(&[]), sent);
    }
}

#[tokio::test]
async fn trailers_follow_the_end_of_the_coding() {
    let chain = layer(&CompressionConfig::default());
    let mut trailers = HeaderMap::new();
    trailers.insert("x-checksum", HeaderValue::from_static("abc"));
    for coding in ["gzip", "br", "zstd"] {
        let body = stream(
            &["first chunk, ", "second chunk"],
            Some(trailers.clone()),
            None,
        );
        let get = request("GET", "/", &[("accept-encoding", coding)]);
        let mut answer = chain
            .run(get, None, |_| async move { response(body, &[]) })
            .await;
        let body = answer.body_mut();
        let mut encoded = Vec::new();
        let mut received = None;
        while let Poll::Ready(Some(frame)) = poll_next_frame(body) {
            assert!(received.is_none(), "{coding}: data after the trailers");
            match frame.into_data() {
                Ok(data) => encoded.extend_from_slice(&data),
                Err(frame) => received = frame.into_trailers().ok(),
            }
        }
        assert_eq!(received.as_ref(), Some(&trailers), "{coding}");
        assert_eq!(decode(coding, &encoded), b"first chunk, second chunk");
    }
}

/// The request-id layer (outside) adds to problem+json bodies after this layer ran:
/// they must still be plain JSON then.
#[tokio::test]
async fn problem_documents_stay_editable_for_the_request_id_layer() {
    let chain = chain(vec![
        RequestId::new(&RequestIdConfig::default()).unwrap().into(),
        Compression::new(&CompressionConfig {
            min_size: 0,
            ..CompressionConfig::default()
        })
        .unwrap()
        .into(),
    ]);
    let detail = "d".repeat(2000);
    let problem = format!("{{\"title\":\"Not Found\",\"status\":404,\"detail\":\"{detail}\"}}");
    let mut answer = response(
        ResponseBody::full(problem),
        &[("content-type", "application/problem+json")],
    );
    *answer.status_mut() = StatusCode::NOT_FOUND;
    let get = request(
        "GET",
        "/",
        &[("accept-encoding", "gzip"), ("x-request-id", "abc-1")],
    );
    let out = respond(&chain, get, answer).await;
    assert_eq!(encoded(&out), None);
    let value: serde_json::Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(value["request_id"], "abc-1");
}

#[test]
fn bad_configurations_are_refused_with_a_reason() {
    let cases = [
        (
            CompressionConfig {
                gzip: false,
                brotli: false,
                zstd: false,
                ..CompressionConfig::default()
            },
            "switch at least one on",
        ),
        (
            CompressionConfig {
                gzip_level: 0,
                ..CompressionConfig::default()
            },
            "gzip_level=0 is out of range: use 1 (fastest) to 9",
        ),
        (
            CompressionConfig {
                gzip_level: 10,
                ..CompressionConfig::default()
            },
            "gzip_level=10",
        ),
        (
            CompressionConfig {
                brotli_level: 12,
                ..CompressionConfig::default()
            },
            "brotli_level=12 is out of range: use 0 (fastest) to 11",
        ),
        (
            CompressionConfig {
                zstd_level: 0,
                ..CompressionConfig::default()
            },
            "zstd_level=0 is out of range: use 1 (fastest) to 19",
        ),
        (
            CompressionConfig {
                zstd_level: 22,
                ..CompressionConfig::default()
            },
            "8 MiB",
        ),
    ];
    for (config, expected) in cases {
        let message = Compression::new(&config).unwrap_err().to_string();
        assert!(message.contains(expected), "{message}");
    }
    assert!(Compression::new(&CompressionConfig::default()).is_ok());
}
