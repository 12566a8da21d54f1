//! Regression tests for bugs found in cello-http: panics before a handler's future
//! exists, the idle timer spinning under slow handlers, sub-second 408 details, and
//! the interplay of the idle and header timeouts.

use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use cello_http::{ConnInfo, Handler, HttpConfig, Request, Response, ResponseBody};

use super::support::{assert_problem, test_config, TestServer};

/// Panics in `call` itself, before it returns a future, as a handler that validates
/// its request synchronously might.
struct PanicsBeforeFuture;

impl Handler for PanicsBeforeFuture {
    fn call(
        self: Rc<Self>,
        request: Request,
        _conn: ConnInfo,
    ) -> impl Future<Output = Response> + 'static {
        assert_ne!(request.uri().path(), "/panic", "panics on purpose");
        async { Response::new(ResponseBody::full("ok")) }
    }
}

#[test]
fn panic_before_the_future_is_returned_is_a_500() {
    let server = TestServer::start_with(
        HttpConfig {
            shutdown_timeout: Duration::from_secs(3),
            ..test_config()
        },
        PanicsBeforeFuture,
    );
    let mut client = server.connect();

    // Documented: "A panic inside becomes a 500 and the worker keeps serving".
    client.send(b"GET /panic HTTP/1.1\r\nHost: test\r\n\r\n");
    let response = client.read_response();
    assert_problem(&response.expect("a 500, not a dropped connection"), 500);
}

#[test]
fn panic_before_the_future_is_returned_does_not_delay_shutdown() {
    let server = TestServer::start_with(
        HttpConfig {
            shutdown_timeout: Duration::from_secs(3),
            ..test_config()
        },
        PanicsBeforeFuture,
    );
    let mut client = server.connect();
    client.send(b"GET /panic HTTP/1.1\r\nHost: test\r\n\r\n");
    let response = client.read_response().expect("a 500 for the panic");
    assert_problem(&response, 500);
    drop(client);

    let started = std::time::Instant::now();
    server.stop().unwrap();
    let stopped = started.elapsed();
    assert!(
        stopped < Duration::from_secs(1),
        "shutdown took {stopped:?}"
    );
}

/// Answers after sleeping `ms`, with the CPU time its thread used meanwhile, in ns.
struct MeasuresIdleCpu;

impl Handler for MeasuresIdleCpu {
    async fn call(self: Rc<Self>, _request: Request, _conn: ConnInfo) -> Response {
        let before = thread_cpu_nanos();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let used = thread_cpu_nanos() - before;
        Response::new(ResponseBody::full(used.to_string()))
    }
}

/// CPU time of the calling thread (Linux `schedstat`: first field, nanoseconds).
fn thread_cpu_nanos() -> u64 {
    let schedstat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    schedstat.split(' ').next().unwrap().parse().unwrap()
}

#[test]
#[cfg(target_os = "linux")]
fn slow_handler_past_keep_alive_timeout_does_not_spin_the_worker() {
    let server = TestServer::start_with(
        HttpConfig {
            keep_alive_timeout: Duration::from_millis(50),
            ..test_config()
        },
        MeasuresIdleCpu,
    );
    let mut client = server.connect();

    let response = client.get("/");
    let cpu = Duration::from_nanos(response.text().parse().unwrap());

    // The worker only waits on a timer for 500 ms; it should barely touch the CPU.
    assert!(
        cpu < Duration::from_millis(100),
        "worker used {cpu:?} of CPU while idle"
    );
}

#[test]
fn sub_second_body_timeout_detail_is_not_zero_seconds() {
    let server = TestServer::start(HttpConfig {
        body_read_timeout: Duration::from_millis(300),
        ..test_config()
    });
    let mut client = server.connect();
    client.send(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nabc");

    let response = client.read_response().unwrap();

    let problem = assert_problem(&response, 408);
    let detail = problem["detail"].as_str().unwrap();
    assert!(!detail.contains("within 0 seconds"), "{detail}");
}

#[test]
fn idle_connection_closes_after_the_shorter_of_the_two_timeouts() {
    let server = TestServer::start(HttpConfig {
        header_read_timeout: Duration::from_millis(300),
        keep_alive_timeout: Duration::from_secs(2),
        ..test_config()
    });
    let mut client = server.connect();
    assert_eq!(client.get("/").status, 200);

    let (waited, _) = client.wait_for_close();

    // Documented (HttpConfig::keep_alive_timeout): hyper applies header_read_timeout
    // while waiting for the next request, so the shorter timeout wins.
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_millis(1500),
        "closed after {waited:?}"
    );
}
