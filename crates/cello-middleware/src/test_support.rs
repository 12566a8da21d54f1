//! Helpers for the unit tests of the layers: build a request, run a chain over a
//! handler that records whether it was called.

use std::cell::Cell;
use std::collections::VecDeque;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;
use cello_http::{BoxError, ConnInfo, Request, RequestBody, Response, ResponseBody};
use http::{HeaderMap, StatusCode};
use http_body::{Body, Frame, SizeHint};

use crate::chain::{Chain, Layer};

pub(crate) fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request {
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(RequestBody::Full(Bytes::new())).unwrap()
}

pub(crate) fn conn(secure: bool) -> ConnInfo {
    ConnInfo {
        peer: "127.0.0.1:40000".parse().unwrap(),
        local: "127.0.0.1:8000".parse().unwrap(),
        secure,
    }
}

pub(crate) fn chain(layers: Vec<Layer>) -> Chain {
    Chain::new(layers).unwrap().expect("at least one layer")
}

/// What came back, and whether the handler ran.
pub(crate) struct Outcome {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub called: bool,
}

/// Runs `request` through `chain` over a handler answering `status` with `body`.
pub(crate) async fn run(
    chain: &Chain,
    request: Request,
    conn: Option<ConnInfo>,
    status: StatusCode,
    body: &'static str,
) -> Outcome {
    let called = Rc::new(Cell::new(false));
    let flag = called.clone();
    let response = chain
        .run(request, conn, |_request| async move {
            flag.set(true);
            let mut response =
                Response::new(ResponseBody::full(Bytes::from_static(body.as_bytes())));
            *response.status_mut() = status;
            response
        })
        .await;
    let (parts, body) = response.into_parts();
    Outcome {
        status: parts.status,
        headers: parts.headers,
        body: body.collect_bytes().await.unwrap(),
        called: called.get(),
    }
}

/// Runs `request` through `chain` over a handler that answers `response`.
pub(crate) async fn respond(chain: &Chain, request: Request, response: Response) -> Outcome {
    let response = chain
        .run(request, None, |_request| async move { response })
        .await;
    let (parts, body) = response.into_parts();
    Outcome {
        status: parts.status,
        headers: parts.headers,
        body: body.collect_bytes().await.unwrap(),
        called: true,
    }
}

/// A streamed body of `chunks`, then `trailers`; its size hint is `exact` when given
/// (a file), unknown otherwise (a generator).
pub(crate) fn stream(
    chunks: &[&str],
    trailers: Option<HeaderMap>,
    exact: Option<u64>,
) -> ResponseBody {
    let mut frames: VecDeque<Frame<Bytes>> = chunks
        .iter()
        .map(|chunk| Frame::data(Bytes::copy_from_slice(chunk.as_bytes())))
        .collect();
    frames.extend(trailers.map(Frame::trailers));
    ResponseBody::stream(Frames { frames, exact })
}

struct Frames {
    frames: VecDeque<Frame<Bytes>>,
    exact: Option<u64>,
}

impl Body for Frames {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Poll::Ready(self.get_mut().frames.pop_front().map(Ok))
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        self.exact
            .map_or_else(SizeHint::default, SizeHint::with_exact)
    }
}

/// A streamed body fed by the returned sender, one chunk per message, ending when the
/// sender is dropped: an event stream whose next event is not there yet.
pub(crate) fn channel() -> (tokio::sync::mpsc::UnboundedSender<Bytes>, ResponseBody) {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    (sender, ResponseBody::stream(Channel(receiver)))
}

struct Channel(tokio::sync::mpsc::UnboundedReceiver<Bytes>);

impl Body for Channel {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.get_mut()
            .0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
    }
}

/// The next frame of `body`; `Poll::Pending` when it has none ready yet.
pub(crate) fn poll_next_frame(body: &mut ResponseBody) -> Poll<Option<Frame<Bytes>>> {
    let waker = std::task::Waker::noop();
    let mut cx = Context::from_waker(waker);
    Pin::new(body)
        .poll_frame(&mut cx)
        .map(|frame| frame.map(|f| f.unwrap()))
}
