//! HTTP/1.1 through cello-http's real connection code: parse, dispatch to a Rust handler,
//! response write.
//!
//! A `Server` and its client share one thread, one current-thread runtime and one
//! `LocalSet` (as in a worker), over a loopback socket: `Server::serve` is the engine's
//! public entry point and takes a listener. One thread keeps the order of events fixed, so
//! the count is the same on every run. Each measured request covers the client's write,
//! hyper's parse, the service and `Handler::call`, the response encode and write, the
//! client's read, and the runtime's wake-ups in between (user-space instructions only:
//! callgrind does not see the kernel). The connection is accepted and warmed before the
//! region starts.

use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use cello_http::{
    bind_tcp, ConnInfo, Handler, HttpConfig, Request, Response, ResponseBody, Server,
    ShutdownHandle,
};
use http::header::{HeaderValue, CONTENT_TYPE};
use http::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio::task::LocalSet;

use crate::measure::{region, Benchmark};

pub const BENCHMARKS: &[Benchmark] = &[
    Benchmark {
        name: "http1/get",
        description: "keep-alive GET with five headers, answered with a 27-byte JSON body",
        operations: 100,
        run: get,
    },
    Benchmark {
        name: "http1/post_json",
        description: "keep-alive POST of a 244-byte JSON body the handler reads in full",
        operations: 100,
        run: post_json,
    },
    Benchmark {
        name: "http1/pipelined_get",
        description: "16 pipelined GETs in one write, answered in one batch (per request)",
        operations: 160,
        run: pipelined_get,
    },
];

const GET: &[u8] = b"GET /json HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: cello-instructions\r\n\
    Accept: application/json\r\nAccept-Encoding: gzip, br\r\nCookie: session=0123456789abcdef\r\n\r\n";

const POST_BODY: &str = r#"{"name":"Cello","email":"cello@example.com","age":42,"score":97.5,"active":true,"tags":["rust","python","http"],"address":{"street":"1 Main St","city":"Springfield","zip":"12345"},"notes":"line one\nline two \"quoted\"","ids":[1,2,3,4,5,6,7,8]}"#;

/// Pipelined requests per batch.
const PIPELINE_DEPTH: u64 = 16;

const HELLO: &[u8] = br#"{"message":"Hello, World!"}"#;
const CREATED: &[u8] = br#"{"created":true}"#;

/// What the handler allows itself when reading a body.
const BODY_LIMIT: usize = 1024 * 1024;
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// GET: the JSON hello. POST: reads the whole body, answers `{"created":true}`.
struct Api;

impl Handler for Api {
    async fn call(self: Rc<Self>, request: Request, _conn: ConnInfo) -> Response {
        let (parts, body) = request.into_parts();
        let answer = if parts.method == Method::POST {
            let bytes = body
                .read_to_bytes(BODY_LIMIT, BODY_TIMEOUT)
                .await
                .expect("benchmark body is within the limits");
            assert_eq!(bytes.len(), POST_BODY.len());
            CREATED
        } else {
            HELLO
        };
        let mut response = Response::new(ResponseBody::full(Bytes::from_static(answer)));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

/// A server and one keep-alive client connection on the current thread.
struct Loopback {
    runtime: Runtime,
    local: LocalSet,
    client: TcpStream,
    shutdown: ShutdownHandle,
    received: Vec<u8>,
}

impl Loopback {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let local = LocalSet::new();
        let config = HttpConfig::default();
        let listener = bind_tcp(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            false,
            config.backlog,
        )
        .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let server = Server::new(config);
        let shutdown = server.shutdown_handle();
        local.spawn_local(async move { server.serve(listener, Rc::new(Api)).await });
        let client = local
            .block_on(&runtime, TcpStream::connect(addr))
            .expect("connect");
        client.set_nodelay(true).expect("TCP_NODELAY");
        Self {
            runtime,
            local,
            client,
            shutdown,
            received: Vec::new(),
        }
    }

    /// Sends `request` once outside the region and returns the length of its response
    /// (constant: the Date header always has 29 characters).
    fn warm_up(&mut self, request: &[u8]) -> usize {
        let Self {
            runtime,
            local,
            client,
            received,
            ..
        } = self;
        local.block_on(runtime, async {
            client.write_all(request).await.expect("write");
            received.clear();
            let mut chunk = [0u8; 4096];
            loop {
                let read = client.read(&mut chunk).await.expect("read");
                assert!(read > 0, "server closed the connection");
                received.extend_from_slice(&chunk[..read]);
                if let Some(length) = complete_response(received) {
                    assert_eq!(length, received.len(), "one response expected");
                    return length;
                }
            }
        })
    }

    /// `exchanges` times: writes `request`, reads `response_length` bytes.
    fn exchange(&mut self, request: &[u8], response_length: usize, exchanges: u64) {
        let Self {
            runtime,
            local,
            client,
            received,
            ..
        } = self;
        received.resize(response_length, 0);
        local.block_on(runtime, async {
            for _ in 0..exchanges {
                client.write_all(request).await.expect("write");
                client.read_exact(received).await.expect("read");
            }
        });
    }

    /// Checks the last response read, then stops the server.
    fn finish(self, expected_body: &[u8]) {
        assert!(
            self.received.starts_with(b"HTTP/1.1 200 OK\r\n"),
            "unexpected response: {}",
            String::from_utf8_lossy(&self.received)
        );
        assert!(self.received.ends_with(expected_body));
        self.shutdown.shutdown();
        drop(self.client);
        self.local.block_on(&self.runtime, tokio::task::yield_now());
    }
}

/// The length of the first complete response in `bytes`, if it is all there.
fn complete_response(bytes: &[u8]) -> Option<usize> {
    let head_end = bytes.windows(4).position(|window| window == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&bytes[..head_end]).expect("ASCII response head");
    let content_length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().expect("numeric Content-Length"))
        })
        .expect("response has a Content-Length");
    (bytes.len() >= head_end + content_length).then_some(head_end + content_length)
}

fn get(benchmark: &Benchmark) {
    let mut loopback = Loopback::start();
    let length = loopback.warm_up(GET);
    region(benchmark, &mut || {
        loopback.exchange(GET, length, benchmark.operations);
    });
    loopback.finish(HELLO);
}

fn post_json(benchmark: &Benchmark) {
    let request = format!(
        "POST /items HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: cello-instructions\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{POST_BODY}",
        POST_BODY.len()
    );
    let mut loopback = Loopback::start();
    let length = loopback.warm_up(request.as_bytes());
    region(benchmark, &mut || {
        loopback.exchange(request.as_bytes(), length, benchmark.operations);
    });
    loopback.finish(CREATED);
}

fn pipelined_get(benchmark: &Benchmark) {
    let mut loopback = Loopback::start();
    let length = loopback.warm_up(GET);
    let batch = GET.repeat(PIPELINE_DEPTH as usize);
    let batch_length = length * PIPELINE_DEPTH as usize;
    // A warm batch too, so the region does not include growing the connection's buffers.
    loopback.exchange(&batch, batch_length, 1);
    region(benchmark, &mut || {
        loopback.exchange(&batch, batch_length, benchmark.operations / PIPELINE_DEPTH);
    });
    loopback.finish(HELLO);
}
