//! The test server (a real `cello_http::Server` on its own thread) and a raw-socket
//! HTTP/1.1 client that sees exactly the bytes the engine writes.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cello_http::{bind_tcp, Handler, HttpConfig, Server, ShutdownHandle};

use super::handler::TestHandler;

/// Longest any single client read may block: every wait in these tests is bounded.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A config with timeouts short enough that a stuck test fails fast.
pub fn test_config() -> HttpConfig {
    HttpConfig {
        shutdown_timeout: Duration::from_secs(2),
        ..HttpConfig::default()
    }
}

/// A server running [`TestHandler`] (or any handler) on a current-thread runtime and a
/// `LocalSet`, on a background thread, bound to an ephemeral loopback port.
pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: ShutdownHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl TestServer {
    pub fn start(config: HttpConfig) -> Self {
        let handler = TestHandler::new(&config);
        Self::start_with(config, handler)
    }

    pub fn start_with<H: Handler + Send>(config: HttpConfig, handler: H) -> Self {
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
                .build()?;
            let local = tokio::task::LocalSet::new();
            let server = Server::new(config);
            handle_sender
                .send(server.shutdown_handle())
                .expect("test thread waits for the handle");
            local.block_on(&runtime, server.serve(listener, Rc::new(handler)))
        });
        let shutdown = handle_receiver
            .recv_timeout(READ_TIMEOUT)
            .expect("server thread started");
        Self {
            addr,
            shutdown,
            thread: Some(thread),
        }
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Starts the graceful shutdown and waits (bounded) for `serve` to return.
    pub fn stop(mut self) -> io::Result<()> {
        self.shutdown.shutdown();
        self.join()
    }

    /// Waits (bounded) for `serve` to return; the shutdown must already be started.
    pub fn join(&mut self) -> io::Result<()> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !thread.is_finished() {
            assert!(
                Instant::now() < deadline,
                "serve did not return after shutdown"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        thread.join().expect("server thread panicked")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.shutdown();
        if !std::thread::panicking() {
            self.join().expect("serve returned an error");
        }
    }
}

/// One parsed response, header names lower-cased.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }
}

/// A blocking HTTP/1.1 client over one raw TCP connection. Responses are read through
/// a buffer, so pipelined responses that arrive in one segment are not lost.
pub struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect_timeout(&addr, READ_TIMEOUT).expect("connect");
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Self {
            reader: BufReader::new(stream),
        }
    }

    pub fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).expect("write");
    }

    pub fn get(&mut self, path: &str) -> RawResponse {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes());
        self.read_response().expect("response")
    }

    /// Reads one response: a 1xx has no body; otherwise `Content-Length`, chunked, or
    /// everything up to EOF.
    pub fn read_response(&mut self) -> io::Result<RawResponse> {
        let status_line = self.read_line()?;
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        assert_eq!(version, "HTTP/1.1", "status line {status_line:?}");
        let status: u16 = parts
            .next()
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let line = self.read_line()?;
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').expect("header line has a colon");
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        let mut response = RawResponse {
            status,
            headers,
            body: Vec::new(),
        };
        if (100..200).contains(&status) {
            return Ok(response);
        }
        if let Some(length) = response.header("content-length") {
            let mut body = vec![0; length.parse().expect("numeric content-length")];
            self.reader.read_exact(&mut body)?;
            response.body = body;
        } else if response.header("transfer-encoding") == Some("chunked") {
            response.body = self.read_chunked()?;
        } else {
            self.reader.read_to_end(&mut response.body)?;
        }
        Ok(response)
    }

    fn read_chunked(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let size_line = self.read_line()?;
            let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                .unwrap_or_else(|_| panic!("bad chunk size line {size_line:?}"));
            if size == 0 {
                // Trailers (none expected) end with an empty line.
                while !self.read_line()?.is_empty() {}
                return Ok(body);
            }
            let start = body.len();
            body.resize(start + size, 0);
            self.reader.read_exact(&mut body[start..])?;
            assert_eq!(self.read_line()?, "", "chunk data ends with CRLF");
        }
    }

    fn read_line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }

    /// Waits until the server closes the connection and returns how long that took.
    /// Any bytes still sent before the close are returned too. Panics if the
    /// connection is still open after [`READ_TIMEOUT`].
    pub fn wait_for_close(&mut self) -> (Duration, Vec<u8>) {
        let started = Instant::now();
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            match self.reader.read(&mut buffer) {
                Ok(0) => return (started.elapsed(), received),
                Ok(n) => received.extend_from_slice(&buffer[..n]),
                Err(error) if error.kind() == io::ErrorKind::ConnectionReset => {
                    return (started.elapsed(), received);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => panic!("connection not closed by the server: {error}"),
            }
        }
    }
}

/// Checks an RFC 9457 problem response: status, media type and a JSON body whose
/// `status` member matches.
pub fn assert_problem(response: &RawResponse, status: u16) -> serde_json::Value {
    assert_eq!(response.status, status, "body: {}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    let problem: serde_json::Value =
        serde_json::from_slice(&response.body).expect("problem body is JSON");
    assert_eq!(problem["status"], status);
    assert_eq!(problem["type"], "about:blank");
    assert!(problem["title"].is_string(), "{problem}");
    assert!(problem["detail"].is_string(), "{problem}");
    problem
}
