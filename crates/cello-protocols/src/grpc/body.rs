//! A response body that is a few framed messages, then the status trailers.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};

/// Framed messages, then trailers (a unary answer, or a stream already complete).
#[derive(Debug, Default)]
pub struct GrpcBody {
    frames: VecDeque<Bytes>,
    trailers: Option<HeaderMap>,
}

impl GrpcBody {
    pub fn new(frames: impl IntoIterator<Item = Bytes>, trailers: HeaderMap) -> Self {
        Self {
            frames: frames.into_iter().collect(),
            trailers: Some(trailers),
        }
    }
}

impl Body for GrpcBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(frame) = self.frames.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(frame))));
        }
        Poll::Ready(
            self.trailers
                .take()
                .map(|trailers| Ok(Frame::trailers(trailers))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty() && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        // Not exact: a length would make HTTP/1.1 drop the trailers.
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn messages_then_trailers() {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
        let body = GrpcBody::new([Bytes::from_static(b"\0\0\0\0\x01a")], trailers.clone());
        let collected = body.collect().await.unwrap();
        assert_eq!(collected.trailers(), Some(&trailers));
        assert_eq!(&collected.to_bytes()[..], b"\0\0\0\0\x01a");
    }
}
