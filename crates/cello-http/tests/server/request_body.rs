//! Reading request bodies: chunked decoding, the size limit, `Expect: 100-continue`
//! and the body read timeout.

use std::time::{Duration, Instant};

use cello_http::HttpConfig;

use super::support::{assert_problem, test_config, TestServer};

fn limited(max_body_size: usize) -> HttpConfig {
    HttpConfig {
        max_body_size,
        ..test_config()
    }
}

#[test]
fn chunked_body_is_read_and_echoed() {
    let server = TestServer::start(test_config());
    let mut client = server.connect();

    client.send(b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n");
    // Separate writes, so the handler receives several frames to join.
    for chunk in [&b"5\r\nhello\r\n"[..], b"7\r\n, world\r\n", b"0\r\n\r\n"] {
        std::thread::sleep(Duration::from_millis(10));
        client.send(chunk);
    }
    let response = client.read_response().unwrap();

    assert_eq!(response.status, 200);
    assert_eq!(response.text(), "hello, world");
    assert_eq!(response.header("content-length"), Some("12"));
    // The body was consumed completely, so the connection is reusable.
    assert_eq!(client.get("/after").status, 200);
}

#[test]
fn content_length_over_the_limit_is_413_before_the_body_is_sent() {
    let server = TestServer::start(limited(1024));
    let mut client = server.connect();

    client.send(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 4096\r\n\r\n");
    let response = client.read_response().unwrap();

    let problem = assert_problem(&response, 413);
    assert!(
        problem["detail"].as_str().unwrap().contains("1024"),
        "{problem}"
    );
    assert_eq!(response.header("connection"), Some("close"));
    client.wait_for_close();
}

#[test]
fn expect_continue_over_the_limit_gets_413_and_no_100() {
    let server = TestServer::start(limited(1024));
    let mut client = server.connect();

    client.send(
        b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 4096\r\n\
          Expect: 100-continue\r\n\r\n",
    );
    let first = client.read_response().unwrap();

    assert_problem(&first, 413);
    let (_, extra) = client.wait_for_close();
    assert!(extra.is_empty(), "{}", String::from_utf8_lossy(&extra));
}

#[test]
fn expect_continue_within_the_limit_gets_100_then_the_response() {
    let server = TestServer::start(limited(1024));
    let mut client = server.connect();

    client.send(
        b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\
          Expect: 100-continue\r\n\r\n",
    );
    let interim = client.read_response().unwrap();
    assert_eq!(interim.status, 100);
    client.send(b"hello");
    let response = client.read_response().unwrap();

    assert_eq!(response.status, 200);
    assert_eq!(response.text(), "hello");
}

#[test]
fn chunked_body_crossing_the_limit_is_413() {
    let server = TestServer::start(limited(1024));
    let mut client = server.connect();
    let chunk = format!("320\r\n{}\r\n", "x".repeat(800));

    client.send(b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n");
    client.send(chunk.as_bytes());
    client.send(chunk.as_bytes());
    // No terminating chunk: the limit must trip on what has arrived.
    let response = client.read_response().unwrap();

    assert_problem(&response, 413);
    assert_eq!(response.header("connection"), Some("close"));
    client.wait_for_close();
}

#[test]
fn body_not_received_in_time_is_408() {
    let server = TestServer::start(HttpConfig {
        body_read_timeout: Duration::from_millis(300),
        ..test_config()
    });
    let mut client = server.connect();

    client.send(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nabc");
    let started = Instant::now();
    let response = client.read_response().unwrap();
    let waited = started.elapsed();

    assert_problem(&response, 408);
    assert!(
        waited >= Duration::from_millis(250),
        "answered after {waited:?}"
    );
    assert_eq!(response.header("connection"), Some("close"));
    client.wait_for_close();
}
