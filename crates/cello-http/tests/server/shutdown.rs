//! Graceful shutdown: in-flight requests finish, idle connections close, new
//! connections are refused, and `shutdown_timeout` bounds the drain.

use std::io;
use std::net::TcpStream;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cello_http::{ConnInfo, Handler, HttpConfig, Request, Response, ResponseBody};

use super::support::{test_config, TestServer, READ_TIMEOUT};

/// Reports each request's arrival, then answers after `delay`.
struct SlowHandler {
    arrived: mpsc::Sender<()>,
    delay: Duration,
}

impl Handler for SlowHandler {
    async fn call(self: Rc<Self>, _request: Request, _conn: ConnInfo) -> Response {
        let _ = self.arrived.send(());
        tokio::time::sleep(self.delay).await;
        Response::new(ResponseBody::full("done"))
    }
}

fn slow_server(delay: Duration, config: HttpConfig) -> (TestServer, mpsc::Receiver<()>) {
    let (arrived, arrivals) = mpsc::channel();
    (
        TestServer::start_with(config, SlowHandler { arrived, delay }),
        arrivals,
    )
}

#[test]
fn in_flight_request_finishes_and_new_connections_are_refused() {
    let (mut server, arrivals) = slow_server(Duration::from_millis(300), test_config());
    let addr = server.addr;
    let mut client = server.connect();
    client.send(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n");
    arrivals
        .recv_timeout(READ_TIMEOUT)
        .expect("request reached the handler");

    // The handle is `Send`: stop the server from a thread of its own.
    let handle = server.shutdown_handle();
    std::thread::spawn(move || handle.shutdown())
        .join()
        .unwrap();
    assert!(server.shutdown_handle().is_shutting_down());

    let response = client.read_response().expect("in-flight response");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"done");
    assert_eq!(response.header("connection"), Some("close"));
    client.wait_for_close();
    server.join().expect("serve returns Ok");

    let refused = TcpStream::connect_timeout(&addr, READ_TIMEOUT).unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn idle_connections_do_not_hold_up_shutdown() {
    let server = TestServer::start(HttpConfig {
        shutdown_timeout: Duration::from_secs(20),
        ..test_config()
    });
    let mut idle = server.connect();
    assert_eq!(idle.get("/").status, 200);

    let started = Instant::now();
    server.stop().expect("serve returns Ok");

    let stopped = started.elapsed();
    assert!(
        stopped < Duration::from_secs(3),
        "shutdown took {stopped:?}"
    );
    let (_, extra) = idle.wait_for_close();
    assert!(extra.is_empty());
}

#[test]
fn shutdown_timeout_bounds_the_drain() {
    let (server, arrivals) = slow_server(
        Duration::from_secs(30),
        HttpConfig {
            shutdown_timeout: Duration::from_millis(300),
            ..test_config()
        },
    );
    let mut client = server.connect();
    client.send(b"GET /stuck HTTP/1.1\r\nHost: test\r\n\r\n");
    arrivals
        .recv_timeout(READ_TIMEOUT)
        .expect("request reached the handler");

    let started = Instant::now();
    server.stop().expect("serve returns Ok");

    let stopped = started.elapsed();
    assert!(
        stopped >= Duration::from_millis(250),
        "stopped after {stopped:?}"
    );
    assert!(
        stopped < Duration::from_secs(3),
        "stopped after {stopped:?}"
    );
    // The abandoned request gets no response; its connection is dropped.
    let (_, received) = client.wait_for_close();
    assert!(received.is_empty());
}
