//! A sampled request's streamed body (a generator, a file, SSE): its server span ends
//! once the last chunk has been handed to the connection, or when the body is
//! dropped (the client left), with a `cello.write_body` child from the first chunk
//! asked for to the last.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use cello_http::{BoxError, ResponseBody};
use cello_observability::telemetry::{ServerSpan, Telemetry};
use cello_observability::Phases;
use http_body::{Body, Frame, SizeHint};

/// What ends with the body.
struct Ending {
    telemetry: Arc<Telemetry>,
    span: ServerSpan,
    status: u16,
    phases: Phases,
    started: Option<SystemTime>,
}

/// `inner`, ending the span when it is done.
pub(super) struct SentBody {
    inner: Pin<Box<dyn Body<Data = Bytes, Error = BoxError>>>,
    ending: Option<Ending>,
}

/// The response's body wrapped so that `span` ends after it, if the body is a stream;
/// otherwise `span` back (to end now).
pub(super) fn end_after_body(
    body: &mut ResponseBody,
    telemetry: &Arc<Telemetry>,
    span: ServerSpan,
    status: u16,
    phases: Phases,
) -> Option<(ServerSpan, Phases)> {
    match std::mem::replace(body, ResponseBody::Empty) {
        ResponseBody::Stream(inner) => {
            *body = ResponseBody::stream(SentBody {
                inner,
                ending: Some(Ending {
                    telemetry: telemetry.clone(),
                    span,
                    status,
                    phases,
                    started: None,
                }),
            });
            None
        }
        sent_at_once => {
            *body = sent_at_once;
            Some((span, phases))
        }
    }
}

impl SentBody {
    fn end(&mut self) {
        if let Some(ending) = self.ending.take() {
            let started = ending.started.unwrap_or_else(SystemTime::now);
            ending.phases.record("cello.write_body", started);
            ending
                .span
                .end(&ending.telemetry, ending.status, Some(&ending.phases));
        }
    }
}

impl Body for SentBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some(ending) = &mut this.ending {
            ending.started.get_or_insert_with(SystemTime::now);
        }
        let polled = this.inner.as_mut().poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            this.end();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for SentBody {
    fn drop(&mut self) {
        // Not sent to the end (the client left, or the connection failed): the span
        // still ends, with what was sent.
        self.end();
    }
}
