//! Limits enforced before a handler runs: head timeout, idle timeout, malformed
//! requests and the header size limit.

use std::time::Duration;

use cello_http::HttpConfig;

use super::support::{test_config, TestServer};

#[test]
fn partial_head_is_closed_after_header_read_timeout() {
    let server = TestServer::start(HttpConfig {
        header_read_timeout: Duration::from_millis(300),
        keep_alive_timeout: Duration::from_secs(30),
        ..test_config()
    });
    let mut client = server.connect();

    client.send(b"GET /slowloris HTTP/1.1\r\nHost: test\r\n");
    let (waited, received) = client.wait_for_close();

    assert!(
        waited >= Duration::from_millis(250),
        "closed after {waited:?}"
    );
    // Closing silently or with a 408 are both fine; a 200 is not.
    assert!(
        received.is_empty() || received.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&received)
    );
}

#[test]
fn idle_keep_alive_connection_is_closed_after_keep_alive_timeout() {
    let server = TestServer::start(HttpConfig {
        keep_alive_timeout: Duration::from_millis(300),
        header_read_timeout: Duration::from_secs(30),
        ..test_config()
    });
    let mut client = server.connect();

    assert_eq!(client.get("/").status, 200);
    let (waited, received) = client.wait_for_close();

    assert!(
        waited >= Duration::from_millis(250),
        "closed after {waited:?}"
    );
    assert!(received.is_empty());
}

#[test]
fn busy_keep_alive_connection_outlives_keep_alive_timeout() {
    let server = TestServer::start(HttpConfig {
        keep_alive_timeout: Duration::from_millis(300),
        header_read_timeout: Duration::from_secs(30),
        ..test_config()
    });
    let mut client = server.connect();
    let local = client.stream().local_addr().unwrap().to_string();

    // Six requests 100 ms apart: 600 ms in all, twice the idle limit, never idle for it.
    for _ in 0..6 {
        let response = client.get("/peer");
        assert_eq!(response.status, 200);
        assert_eq!(response.text(), local);
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn garbage_is_answered_with_400_and_closed() {
    let server = TestServer::start(test_config());
    let mut client = server.connect();

    client.send(b"THIS IS NOT HTTP\x01\x02\r\n\r\n");
    let response = client.read_response().unwrap();

    assert_eq!(response.status, 400);
    client.wait_for_close();
    // The worker is unharmed.
    assert_eq!(server.connect().get("/").status, 200);
}

#[test]
fn head_over_max_header_size_is_431() {
    let server = TestServer::start(HttpConfig {
        max_header_size: 1024,
        ..test_config()
    });

    let mut fits = server.connect();
    let small = format!(
        "GET /fits HTTP/1.1\r\nHost: test\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(512)
    );
    fits.send(small.as_bytes());
    assert_eq!(fits.read_response().unwrap().status, 200);

    let mut client = server.connect();
    let big = format!(
        "GET /big HTTP/1.1\r\nHost: test\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(2048)
    );
    client.send(big.as_bytes());
    let response = client.read_response().unwrap();

    assert_eq!(response.status, 431);
    client.wait_for_close();
}
