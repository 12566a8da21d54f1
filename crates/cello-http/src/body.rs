//! Request and response bodies.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;

use crate::error::HttpError;

/// The error type of streamed bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request body: streamed from the connection, or already in memory (in-process
/// test clients and replays).
#[derive(Debug)]
pub enum RequestBody {
    /// Bytes still on the wire.
    Incoming(hyper::body::Incoming),
    /// A body already in memory.
    Full(Bytes),
}

impl RequestBody {
    /// An empty in-memory body.
    pub fn empty() -> Self {
        Self::Full(Bytes::new())
    }

    /// Whether the body is known to be empty without reading it.
    /// The next chunk of data, without a size limit or an idle timer (a protocol on
    /// top, such as gRPC, applies its own per message); `None` at the end. Trailers
    /// are skipped.
    pub async fn next_data(&mut self) -> Result<Option<Bytes>, HttpError> {
        match self {
            Self::Full(bytes) if bytes.is_empty() => Ok(None),
            Self::Full(bytes) => Ok(Some(std::mem::take(bytes))),
            Self::Incoming(incoming) => loop {
                match incoming.frame().await {
                    None => return Ok(None),
                    Some(Err(error)) => return Err(HttpError::BodyRead(error.to_string())),
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            return Ok(Some(data));
                        }
                    }
                }
            },
        }
    }

    pub fn is_end_stream(&self) -> bool {
        match self {
            Self::Incoming(incoming) => incoming.is_end_stream(),
            Self::Full(bytes) => bytes.is_empty(),
        }
    }

    /// Reads the whole body into memory.
    ///
    /// A declared `Content-Length` over `limit` is refused before a byte is read (so an
    /// `Expect: 100-continue` client never gets its 100); a chunked body is refused as
    /// soon as it crosses `limit`. The whole read must finish within `timeout`.
    pub async fn read_to_bytes(self, limit: usize, timeout: Duration) -> Result<Bytes, HttpError> {
        let incoming = match self {
            Self::Full(bytes) if bytes.len() > limit => {
                return Err(HttpError::BodyTooLarge { limit });
            }
            Self::Full(bytes) => return Ok(bytes),
            Self::Incoming(incoming) => incoming,
        };
        if incoming.size_hint().lower() > limit as u64 {
            return Err(HttpError::BodyTooLarge { limit });
        }
        match tokio::time::timeout(timeout, collect_limited(incoming, limit)).await {
            Ok(result) => result,
            Err(_) => Err(HttpError::BodyTimeout {
                seconds: timeout.as_secs_f64(),
            }),
        }
    }
}

async fn collect_limited(
    mut incoming: hyper::body::Incoming,
    limit: usize,
) -> Result<Bytes, HttpError> {
    let exact = incoming.size_hint().exact();
    let mut first: Option<Bytes> = None;
    let mut buffer: Option<BytesMut> = None;
    let mut total = 0usize;
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(|error| HttpError::BodyRead(error.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total += data.len();
        if total > limit {
            return Err(HttpError::BodyTooLarge { limit });
        }
        // One chunk (the common case for small bodies) is handed over without a copy.
        match (&mut first, &mut buffer) {
            (None, None) => first = Some(data),
            (Some(head), None) => {
                let capacity = exact.map_or(head.len() + data.len(), |n| n as usize);
                let mut joined = BytesMut::with_capacity(capacity);
                joined.extend_from_slice(head);
                joined.extend_from_slice(&data);
                first = None;
                buffer = Some(joined);
            }
            (_, Some(joined)) => joined.extend_from_slice(&data),
        }
    }
    Ok(match (first, buffer) {
        (_, Some(joined)) => joined.freeze(),
        (Some(head), None) => head,
        (None, None) => Bytes::new(),
    })
}

/// A request body after the engine read what it reads in advance.
#[derive(Debug)]
pub enum Buffered {
    /// The whole body, in memory.
    Complete(Bytes),
    /// Too large (or of unknown length and growing past the limit) to read in
    /// advance: the handler streams it.
    Partial(BodyChunks),
}

impl RequestBody {
    /// Reads bodies up to `buffer_limit` bytes before the handler runs (so its sync
    /// `body()`/`json()` work); a larger one, or a chunked one that grows past the
    /// limit, is left for the handler to stream. A declared length over `max_size` is
    /// refused before anything is read.
    pub async fn buffer(
        self,
        buffer_limit: usize,
        max_size: usize,
        timeout: Duration,
    ) -> Result<Buffered, HttpError> {
        let incoming = match self {
            Self::Full(bytes) if bytes.len() > max_size => {
                return Err(HttpError::BodyTooLarge { limit: max_size })
            }
            Self::Full(bytes) => return Ok(Buffered::Complete(bytes)),
            Self::Incoming(incoming) => incoming,
        };
        let declared = incoming.size_hint().exact();
        if incoming.size_hint().lower() > max_size as u64 {
            return Err(HttpError::BodyTooLarge { limit: max_size });
        }
        let mut chunks = BodyChunks::new(Bytes::new(), incoming, max_size, timeout);
        if declared.is_some_and(|length| length > buffer_limit as u64) {
            return Ok(Buffered::Partial(chunks));
        }
        let mut collected = BytesMut::new();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let next = tokio::time::timeout_at(deadline, chunks.next_chunk()).await;
            match next {
                Err(_) => {
                    return Err(HttpError::BodyTimeout {
                        seconds: timeout.as_secs_f64(),
                    })
                }
                Ok(Err(error)) => return Err(error),
                Ok(Ok(None)) => return Ok(Buffered::Complete(collected.freeze())),
                Ok(Ok(Some(chunk))) => {
                    collected.extend_from_slice(&chunk);
                    if collected.len() > buffer_limit {
                        chunks.prefix = Some(collected.freeze());
                        return Ok(Buffered::Partial(chunks));
                    }
                }
            }
        }
    }
}

/// The rest of a request body, read chunk by chunk, with the size limit and an idle
/// timeout per chunk (a client that stops sending gets a 408, not a hung handler).
/// Also a `Stream` of chunks, for parsers such as multipart.
pub struct BodyChunks {
    prefix: Option<Bytes>,
    incoming: Option<hyper::body::Incoming>,
    max_size: usize,
    seen: usize,
    timeout: Duration,
    idle: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl std::fmt::Debug for BodyChunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyChunks")
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

impl BodyChunks {
    fn new(
        prefix: Bytes,
        incoming: hyper::body::Incoming,
        max_size: usize,
        timeout: Duration,
    ) -> Self {
        Self {
            prefix: (!prefix.is_empty()).then_some(prefix),
            incoming: Some(incoming),
            max_size,
            seen: 0,
            timeout,
            idle: None,
        }
    }

    /// A body already in memory, served through the same interface.
    pub fn from_bytes(bytes: Bytes) -> Self {
        Self {
            prefix: (!bytes.is_empty()).then_some(bytes),
            incoming: None,
            max_size: usize::MAX,
            seen: 0,
            timeout: Duration::from_secs(60),
            idle: None,
        }
    }

    /// The next chunk; `None` at the end of the body.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, HttpError> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, HttpError>> {
        if let Some(prefix) = self.prefix.take() {
            return Poll::Ready(Ok(Some(prefix)));
        }
        loop {
            let Some(incoming) = self.incoming.as_mut() else {
                return Poll::Ready(Ok(None));
            };
            match Pin::new(incoming).poll_frame(cx) {
                Poll::Pending => {
                    let timeout = self.timeout;
                    let idle = self
                        .idle
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                    if idle.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Err(HttpError::BodyTimeout {
                            seconds: timeout.as_secs_f64(),
                        }));
                    }
                    return Poll::Pending;
                }
                Poll::Ready(None) => {
                    self.incoming = None;
                    return Poll::Ready(Ok(None));
                }
                Poll::Ready(Some(Err(error))) => {
                    return Poll::Ready(Err(HttpError::BodyRead(error.to_string())))
                }
                Poll::Ready(Some(Ok(frame))) => {
                    self.idle = None;
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    self.seen += data.len();
                    if self.seen > self.max_size {
                        return Poll::Ready(Err(HttpError::BodyTooLarge {
                            limit: self.max_size,
                        }));
                    }
                    if !data.is_empty() {
                        return Poll::Ready(Ok(Some(data)));
                    }
                }
            }
        }
    }
}

impl futures_core::Stream for BodyChunks {
    type Item = Result<Bytes, HttpError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx).map(Result::transpose)
    }
}

/// A response body: empty, one buffer, or a stream of chunks.
pub enum ResponseBody {
    /// No body; `Content-Length: 0`.
    Empty,
    /// One buffer with an exact length.
    Full(Option<Bytes>),
    /// Chunks produced over time (streamed responses, files, SSE).
    Stream(Pin<Box<dyn Body<Data = Bytes, Error = BoxError>>>),
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("ResponseBody::Empty"),
            Self::Full(bytes) => f.debug_tuple("ResponseBody::Full").field(bytes).finish(),
            Self::Stream(_) => f.write_str("ResponseBody::Stream(..)"),
        }
    }
}

impl ResponseBody {
    /// A body made of one buffer.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        if bytes.is_empty() {
            Self::Empty
        } else {
            Self::Full(Some(bytes))
        }
    }

    /// A streamed body.
    pub fn stream(body: impl Body<Data = Bytes, Error = BoxError> + 'static) -> Self {
        Self::Stream(Box::pin(body))
    }

    /// The buffer of an in-memory body; `None` for a stream.
    pub fn into_full(self) -> Option<Bytes> {
        match self {
            Self::Empty => Some(Bytes::new()),
            Self::Full(bytes) => Some(bytes.unwrap_or_default()),
            Self::Stream(_) => None,
        }
    }

    /// Collects any body, streamed or not, into memory (test clients).
    pub async fn collect_bytes(self) -> Result<Bytes, BoxError> {
        match self {
            Self::Stream(stream) => Ok(stream.collect().await?.to_bytes()),
            other => Ok(other.into_full().unwrap_or_default()),
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            Self::Empty => Poll::Ready(None),
            Self::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Self::Stream(stream) => stream.as_mut().poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Empty => true,
            Self::Full(bytes) => bytes.is_none(),
            Self::Stream(stream) => stream.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Empty => SizeHint::with_exact(0),
            Self::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Self::Stream(stream) => stream.size_hint(),
        }
    }
}
