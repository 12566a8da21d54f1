//! gRPC-Web (the protocol of grpc/doc/PROTOCOL-WEB.md): the same messages over HTTP/1.1
//! or HTTP/2 without HTTP trailers. The status goes in a last frame (flag `0x80`) of the
//! body; `-text` content types carry the body base64-encoded both ways.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};

/// Which gRPC a content type asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `application/grpc*`: HTTP/2 with trailers.
    Grpc,
    /// `application/grpc-web`, `application/grpc-web+proto`.
    Web,
    /// `application/grpc-web-text*`: the body base64-encoded.
    WebText,
}

impl Flavor {
    /// The flavor of a request's content type; `None` for anything else.
    pub fn of(content_type: &str) -> Option<Self> {
        let rest = content_type.strip_prefix("application/grpc")?;
        let suffix = |rest: &str| rest.is_empty() || rest.starts_with('+') || rest.starts_with(';');
        if let Some(rest) = rest.strip_prefix("-web-text") {
            return suffix(rest).then_some(Self::WebText);
        }
        if let Some(rest) = rest.strip_prefix("-web") {
            return suffix(rest).then_some(Self::Web);
        }
        suffix(rest).then_some(Self::Grpc)
    }

    /// The content type of the response.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Grpc => "application/grpc",
            Self::Web => "application/grpc-web+proto",
            Self::WebText => "application/grpc-web-text+proto",
        }
    }
}

/// The trailers as gRPC-Web's last frame: `0x80`, the length, `name:value\r\n` lines.
pub fn trailer_frame(trailers: &HeaderMap) -> Bytes {
    let mut block = BytesMut::new();
    for (name, value) in trailers {
        block.put_slice(name.as_str().as_bytes());
        block.put_u8(b':');
        block.put_slice(value.as_bytes());
        block.put_slice(b"\r\n");
    }
    let mut frame = BytesMut::with_capacity(5 + block.len());
    frame.put_u8(0x80);
    frame.put_u32(u32::try_from(block.len()).unwrap_or(u32::MAX));
    frame.put_slice(&block);
    frame.freeze()
}

/// A gRPC response body as gRPC-Web: trailers become the last data frame, and every
/// chunk is base64-encoded for the `-text` flavor.
pub struct WebBody<B> {
    inner: B,
    text: bool,
    done: bool,
}

impl<B> WebBody<B> {
    pub fn new(inner: B, text: bool) -> Self {
        Self {
            inner,
            text,
            done: false,
        }
    }

    fn encode(&self, chunk: Bytes) -> Bytes {
        if self.text {
            Bytes::from(data_encoding::BASE64.encode(&chunk))
        } else {
            chunk
        }
    }
}

impl<B> Body for WebBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error))),
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => Poll::Ready(Some(Ok(Frame::data(self.encode(data))))),
                Err(frame) => match frame.into_trailers() {
                    Ok(trailers) => {
                        self.done = true;
                        let last = self.encode(trailer_frame(&trailers));
                        Poll::Ready(Some(Ok(Frame::data(last))))
                    }
                    Err(_) => Poll::Ready(Some(Ok(Frame::data(Bytes::new())))),
                },
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// Decodes a `-text` request body as it arrives: base64 in 4-character quanta (each
/// chunk may be padded on its own, as clients send them).
#[derive(Debug, Default)]
pub struct TextDecoder {
    pending: Vec<u8>,
}

impl TextDecoder {
    /// The bytes of `chunk` that complete quanta; `None` if it is not base64.
    pub fn push(&mut self, chunk: &[u8]) -> Option<Vec<u8>> {
        self.pending
            .extend(chunk.iter().copied().filter(|b| !b.is_ascii_whitespace()));
        let whole = self.pending.len() / 4 * 4;
        let mut out = Vec::with_capacity(whole / 4 * 3);
        for quantum in self.pending[..whole].chunks(4) {
            out.extend(data_encoding::BASE64.decode(quantum).ok()?);
        }
        self.pending.drain(..whole);
        Some(out)
    }

    /// Whether characters of an incomplete quantum are left.
    pub fn has_partial(&self) -> bool {
        !self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn flavors_of_content_types() {
        assert_eq!(Flavor::of("application/grpc"), Some(Flavor::Grpc));
        assert_eq!(Flavor::of("application/grpc+proto"), Some(Flavor::Grpc));
        assert_eq!(Flavor::of("application/grpc-web"), Some(Flavor::Web));
        assert_eq!(Flavor::of("application/grpc-web+proto"), Some(Flavor::Web));
        assert_eq!(
            Flavor::of("application/grpc-web-text"),
            Some(Flavor::WebText)
        );
        assert_eq!(
            Flavor::of("application/grpc-web-text+proto"),
            Some(Flavor::WebText)
        );
        assert_eq!(Flavor::of("application/grpc-webby"), None);
        assert_eq!(Flavor::of("application/json"), None);
    }

    #[test]
    fn text_bodies_decode_across_chunks_and_paddings() {
        let mut decoder = TextDecoder::default();
        // "hello" and "!" encoded separately, cut at odd places.
        let sent = format!(
            "{}{}",
            data_encoding::BASE64.encode(b"hello"),
            data_encoding::BASE64.encode(b"!")
        );
        let (first, second) = sent.split_at(3);
        let mut got = decoder.push(first.as_bytes()).unwrap();
        got.extend(decoder.push(second.as_bytes()).unwrap());
        assert_eq!(got, b"hello!");
        assert!(!decoder.has_partial());
        assert_eq!(TextDecoder::default().push(b"@@@@"), None);
    }

    #[tokio::test]
    async fn trailers_become_the_last_frame() {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
        let inner = crate::grpc::GrpcBody::new([Bytes::from_static(b"\0\0\0\0\x01a")], trailers);
        let body = WebBody::new(inner, false)
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(&body[..], b"\0\0\0\0\x01a\x80\0\0\0\x0fgrpc-status:0\r\n");
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
        let inner = crate::grpc::GrpcBody::new([Bytes::from_static(b"\0\0\0\0\x01a")], trailers);
        let text = WebBody::new(inner, true)
            .collect()
            .await
            .unwrap()
            .to_bytes();
        let mut decoder = TextDecoder::default();
        assert_eq!(decoder.push(&text).unwrap(), &body[..]);
    }
}
