//! The handler the tests talk to: one small route per behaviour under test.

use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use cello_http::{
    BoxError, ConnInfo, FileBody, Handler, HttpConfig, Request, Response, ResponseBody,
};
use http::header::{HeaderValue, CONTENT_TYPE};
use http_body::{Body, Frame, SizeHint};

/// Routes:
/// - `/echo`: reads the body with the configured limit and timeout and echoes it;
/// - `/sleep?ms=N`: answers after sleeping N ms;
/// - `/panic`: panics while being polled;
/// - `/peer`: answers with the client address the engine reported;
/// - `/stream?chunks=N&size=S`: streams N chunks of S pattern bytes, no length;
/// - `/file`: streams the file named by the `x-file-path` header with `FileBody`;
/// - anything else: 200 with the request path as the body.
pub struct TestHandler {
    body_limit: usize,
    body_timeout: Duration,
}

impl TestHandler {
    pub fn new(config: &HttpConfig) -> Self {
        Self {
            body_limit: config.max_body_size,
            body_timeout: config.body_read_timeout,
        }
    }
}

impl Handler for TestHandler {
    async fn call(self: Rc<Self>, request: Request, conn: ConnInfo) -> Response {
        let path = request.uri().path().to_string();
        let query = request.uri().query().unwrap_or_default().to_string();
        match path.as_str() {
            "/echo" => match request
                .into_body()
                .read_to_bytes(self.body_limit, self.body_timeout)
                .await
            {
                Ok(body) => text(body),
                Err(error) => error.to_response(),
            },
            "/sleep" => {
                let ms = query_number(&query, "ms");
                tokio::time::sleep(Duration::from_millis(ms as u64)).await;
                text(format!("slept {ms}"))
            }
            "/panic" => panic!("test handler panics on purpose"),
            "/peer" => text(conn.peer.to_string()),
            "/stream" => Response::new(ResponseBody::stream(PatternStream::new(
                query_number(&query, "chunks"),
                query_number(&query, "size"),
            ))),
            "/file" => {
                let file_path = request.headers()["x-file-path"].to_str().unwrap();
                let file = tokio::fs::File::open(file_path).await.expect("open file");
                let length = file.metadata().await.expect("file metadata").len();
                Response::new(ResponseBody::stream(FileBody::new(file, length)))
            }
            _ => text(path),
        }
    }
}

fn text(body: impl Into<Bytes>) -> Response {
    let mut response = Response::new(ResponseBody::full(body));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

fn query_number(query: &str, name: &str) -> usize {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or_else(|| panic!("query {query:?} lacks a numeric {name}"))
}

/// Deterministic content for streamed and file bodies: byte `i` is `i % 251`, so a
/// dropped, repeated or reordered chunk changes the bytes, not only the length.
pub fn pattern(offset: usize, length: usize) -> Vec<u8> {
    (offset..offset + length).map(|i| (i % 251) as u8).collect()
}

/// A body of unknown length that yields to the runtime before every chunk, the way
/// a producer waiting on I/O would.
struct PatternStream {
    chunks_left: usize,
    chunk_size: usize,
    offset: usize,
    yielded: bool,
}

impl PatternStream {
    fn new(chunks: usize, chunk_size: usize) -> Self {
        Self {
            chunks_left: chunks,
            chunk_size,
            offset: 0,
            yielded: false,
        }
    }
}

impl Body for PatternStream {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.chunks_left == 0 {
            return Poll::Ready(None);
        }
        if !this.yielded {
            this.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        this.yielded = false;
        this.chunks_left -= 1;
        let chunk = pattern(this.offset, this.chunk_size);
        this.offset += this.chunk_size;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
