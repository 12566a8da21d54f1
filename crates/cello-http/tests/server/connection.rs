//! Plain requests, keep-alive and pipelining.

use std::time::{Duration, SystemTime};

use super::support::{test_config, TestServer};

#[test]
fn get_is_answered_with_200_content_length_and_date() {
    let server = TestServer::start(test_config());
    let mut client = server.connect();

    let response = client.get("/hello");

    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"/hello");
    assert_eq!(response.header("content-length"), Some("6"));
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert_eq!(response.header("transfer-encoding"), None);
    let date = response.header("date").expect("a Date header");
    let date = httpdate::parse_http_date(date).expect("an IMF-fixdate Date");
    let skew = SystemTime::now()
        .duration_since(date)
        .unwrap_or_else(|error| error.duration());
    assert!(skew < Duration::from_secs(60), "Date is {skew:?} off");
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let server = TestServer::start(test_config());
    let mut client = server.connect();
    let local = client.stream().local_addr().unwrap().to_string();

    for _ in 0..5 {
        let response = client.get("/peer");
        assert_eq!(response.status, 200);
        assert_eq!(response.header("connection"), None);
        // The engine saw the same client socket each time: the connection was reused.
        assert_eq!(response.text(), local);
    }
}

#[test]
fn pipelined_requests_get_responses_in_order() {
    let server = TestServer::start(test_config());
    let mut client = server.connect();

    // The first request is the slowest, so an engine that answered out of order
    // (or dropped buffered requests) would show it.
    client.send(
        b"GET /sleep?ms=100 HTTP/1.1\r\nHost: test\r\n\r\n\
          GET /second HTTP/1.1\r\nHost: test\r\n\r\n\
          GET /third HTTP/1.1\r\nHost: test\r\n\r\n",
    );

    let bodies: Vec<String> = (0..3)
        .map(|_| {
            let response = client.read_response().expect("pipelined response");
            assert_eq!(response.status, 200);
            response.text().to_string()
        })
        .collect();
    assert_eq!(bodies, ["slept 100", "/second", "/third"]);
}

#[test]
fn connection_close_request_is_answered_then_closed() {
    let server = TestServer::start(test_config());
    let mut client = server.connect();

    client.send(b"GET /bye HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    let response = client.read_response().unwrap();

    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"/bye");
    let (_, extra) = client.wait_for_close();
    assert!(extra.is_empty());
}
