//! Request and response bodies.

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
