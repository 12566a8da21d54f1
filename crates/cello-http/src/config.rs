//! Limits and timeouts of the HTTP engine.

use std::time::Duration;

/// Limits and timeouts applied to every connection.
///
/// The defaults suit a public-facing API server; each one is documented with the
/// status the client gets when it is exceeded.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Largest request head (request line plus headers) in bytes. Over it: 431.
    pub max_header_size: usize,
    /// Largest request body in bytes. Checked against `Content-Length` before
    /// reading anything, and while reading a chunked body. Over it: 413.
    pub max_body_size: usize,
    /// Time allowed to receive a complete request head (slowloris). The connection
    /// is closed when it runs out.
    pub header_read_timeout: Duration,
    /// Time a keep-alive connection may sit idle between requests before it is closed.
    /// hyper also applies `header_read_timeout` while it waits for the next request,
    /// so an idle connection closes after the shorter of the two.
    pub keep_alive_timeout: Duration,
    /// Time allowed to receive a whole request body once the handler asks for it. Over it: 408.
    pub body_read_timeout: Duration,
    /// Whether HTTP/1.1 keep-alive is enabled at all.
    pub keep_alive: bool,
    /// Time in-flight requests get to finish after a graceful shutdown starts.
    pub shutdown_timeout: Duration,
    /// Listen backlog passed to `listen(2)`.
    pub backlog: u32,
    /// Whether HTTP/2 is served (with prior knowledge in cleartext, via ALPN with TLS).
    pub http2: bool,
    /// Most concurrent streams per HTTP/2 connection.
    pub http2_max_concurrent_streams: u32,
    /// Initial flow-control window of each HTTP/2 stream, bytes.
    pub http2_stream_window: u32,
    /// Initial flow-control window of each HTTP/2 connection, bytes.
    pub http2_connection_window: u32,
    /// Interval of HTTP/2 keep-alive pings (`None`: none).
    pub http2_keep_alive_interval: Option<Duration>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_header_size: 16 * 1024,
            max_body_size: 16 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(30),
            keep_alive_timeout: Duration::from_secs(5),
            body_read_timeout: Duration::from_secs(60),
            keep_alive: true,
            shutdown_timeout: Duration::from_secs(30),
            backlog: 2048,
            http2: true,
            http2_max_concurrent_streams: 100,
            http2_stream_window: 1024 * 1024,
            http2_connection_window: 4 * 1024 * 1024,
            http2_keep_alive_interval: None,
        }
    }
}
