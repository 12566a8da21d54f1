//! A streamed body, compressed chunk by chunk.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use cello_http::BoxError;
use http::HeaderMap;
use http_body::{Body, Frame};

use super::encoder::Encoder;

/// The inner body's chunks, each encoded and flushed as it arrives: a server-sent
/// event reaches the client when it is sent, not when a buffer fills. Trailers are
/// passed on after the coding's last bytes.
pub(crate) struct CompressedBody {
    inner: Pin<Box<dyn Body<Data = Bytes, Error = BoxError>>>,
    /// `None` once the coding is finished (or the inner body failed).
    encoder: Option<Encoder>,
    /// The inner body's trailers, held back until the coding's end has been sent.
    trailers: Option<HeaderMap>,
}

impl CompressedBody {
    pub(crate) fn new(
        inner: Pin<Box<dyn Body<Data = Bytes, Error = BoxError>>>,
        encoder: Encoder,
    ) -> Self {
        Self {
            inner,
            encoder: Some(encoder),
            trailers: None,
        }
    }
}

impl Body for CompressedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            let Some(encoder) = this.encoder.as_mut() else {
                return Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t))));
            };
            let frame = match ready!(this.inner.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => frame,
                Some(Err(error)) => {
                    this.encoder = None;
                    return Poll::Ready(Some(Err(error)));
                }
                None => {
                    let end = this
                        .encoder
                        .take()
                        .map_or(Ok(Bytes::new()), Encoder::finish)?;
                    if end.is_empty() {
                        continue;
                    }
                    return Poll::Ready(Some(Ok(Frame::data(end))));
                }
            };
            match frame.into_data() {
                Ok(data) if data.is_empty() => {}
                Ok(data) => match encoder.chunk(&data) {
                    Ok(encoded) if encoded.is_empty() => {}
                    Ok(encoded) => return Poll::Ready(Some(Ok(Frame::data(encoded)))),
                    Err(error) => {
                        this.encoder = None;
                        return Poll::Ready(Some(Err(error.into())));
                    }
                },
                // Trailers are the last frame: end the coding, then send them.
                Err(frame) => {
                    this.trailers = frame.into_trailers().ok();
                    let end = this
                        .encoder
                        .take()
                        .map_or(Ok(Bytes::new()), Encoder::finish)?;
                    if !end.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(end))));
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.encoder.is_none() && self.trailers.is_none()
    }
}
