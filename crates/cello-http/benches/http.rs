//! Request parsing and response writing through the real engine over loopback.
//!
//! A `Server` runs on its own thread (current-thread runtime + `LocalSet`, as in a
//! worker); the measuring thread is a blocking keep-alive client on one connection,
//! so each sample covers the client's write, hyper's parse, the handler call, the
//! response write and the client's read. Also: `problem_response` construction.

use std::hint::black_box;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use cello_http::{
    bind_tcp, problem_response, ConnInfo, Handler, HttpConfig, Request, Response, ResponseBody,
    Server, ShutdownHandle,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use http::header::{HeaderValue, CONTENT_TYPE};
use http::StatusCode;

/// Requests per iteration of the connection benchmarks.
const REQUESTS: u64 = 16;

const GET: &[u8] = b"GET /json HTTP/1.1\r\nHost: bench\r\nUser-Agent: cello-bench\r\n\
                     Accept: application/json\r\n\r\n";

struct Hello;

impl Handler for Hello {
    async fn call(self: Rc<Self>, _request: Request, _conn: ConnInfo) -> Response {
        let mut response = Response::new(ResponseBody::full(Bytes::from_static(
            br#"{"message":"Hello, World!"}"#,
        )));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

/// Starts the server thread; returns its address and the handle that stops it.
fn start_server() -> (SocketAddr, ShutdownHandle, std::thread::JoinHandle<()>) {
    let config = HttpConfig::default();
    let listener = bind_tcp(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        false,
        config.backlog,
    )
    .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let (handle_sender, handle_receiver) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let local = tokio::task::LocalSet::new();
        let server = Server::new(config);
        handle_sender.send(server.shutdown_handle()).unwrap();
        local
            .block_on(&runtime, server.serve(listener, Rc::new(Hello)))
            .expect("serve");
    });
    let handle = handle_receiver.recv().expect("server started");
    (addr, handle, thread)
}

/// A keep-alive client that reads responses by `Content-Length`.
struct Client {
    reader: BufReader<TcpStream>,
    line: String,
    body: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        Self {
            reader: BufReader::new(stream),
            line: String::new(),
            body: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).expect("write");
    }

    fn read_response(&mut self) {
        let mut length = 0;
        let mut first = true;
        loop {
            self.line.clear();
            self.reader.read_line(&mut self.line).expect("read head");
            if first {
                assert!(self.line.starts_with("HTTP/1.1 200"), "{}", self.line);
                first = false;
            } else if self.line == "\r\n" {
                break;
            } else if let Some((name, value)) = self.line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().expect("numeric content-length");
                }
            }
        }
        self.body.resize(length, 0);
        self.reader.read_exact(&mut self.body).expect("read body");
    }
}

fn keep_alive(c: &mut Criterion) {
    let (addr, shutdown, server) = start_server();
    let mut client = Client::connect(addr);
    let pipelined = GET.repeat(REQUESTS as usize);

    let mut group = c.benchmark_group("loopback_keep_alive");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(REQUESTS));
    group.bench_function("sequential_get", |b| {
        b.iter(|| {
            for _ in 0..REQUESTS {
                client.send(GET);
                client.read_response();
            }
        });
    });
    group.bench_function("pipelined_get", |b| {
        b.iter(|| {
            client.send(&pipelined);
            for _ in 0..REQUESTS {
                client.read_response();
            }
        });
    });
    group.finish();

    drop(client);
    shutdown.shutdown();
    server.join().expect("server thread");
}

fn problem(c: &mut Criterion) {
    let mut group = c.benchmark_group("problem_response");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    group.bench_function("plain_detail", |b| {
        b.iter(|| {
            problem_response(
                black_box(StatusCode::PAYLOAD_TOO_LARGE),
                black_box("request body is larger than the limit of 16777216 bytes"),
            )
        });
    });
    group.bench_function("escaped_detail", |b| {
        b.iter(|| {
            problem_response(
                black_box(StatusCode::BAD_REQUEST),
                black_box("field \"name\"\tmust be\na string \\ not \u{1}"),
            )
        });
    });
    group.finish();
}

criterion_group!(benches, keep_alive, problem);
criterion_main!(benches);
