//! Answers to HEAD requests: the GET answer's status and headers, never its content.
//!
//! hyper leaves the body out on HTTP/1.1, but HTTP/2 and HTTP/3 send whatever body the
//! handler produced, and a peer rejects DATA on a HEAD stream (curl reports
//! `PROTOCOL_ERROR`). So every listener applies [`strip_body`] to its HEAD answers,
//! whichever route (or 404, 405) produced them.

use http::header::CONTENT_LENGTH;
use http::{HeaderValue, StatusCode};
use http_body::Body;

use crate::{Response, ResponseBody};

/// Makes `response` the answer to a HEAD request: the body is dropped and, unless the
/// handler set one, `Content-Length` says how long it was (RFC 9110, 9.3.2 and 8.6:
/// the length a GET would have sent). A streamed body of unknown length gets none;
/// nor do 1xx, 204 and 304 answers, which have no content to measure.
///
/// An empty body is left as it is, headers included: it may be one this function
/// already stripped (the dispatcher strips the GET route's answer, the listener
/// strips every HEAD answer), and a `Content-Length: 0` added then would be false.
pub fn strip_body(response: &mut Response) {
    if response.body().is_end_stream() {
        return;
    }
    let body = std::mem::replace(response.body_mut(), ResponseBody::Empty);
    let status = response.status();
    if status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || response.headers().contains_key(CONTENT_LENGTH)
    {
        return;
    }
    if let Some(length) = body.size_hint().exact() {
        response
            .headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(length));
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn response(status: u16, body: ResponseBody) -> Response {
        let mut response = Response::new(body);
        *response.status_mut() = StatusCode::from_u16(status).unwrap();
        response
    }

    fn content_length(response: &Response) -> Option<&str> {
        response
            .headers()
            .get(CONTENT_LENGTH)
            .map(|value| value.to_str().unwrap())
    }

    #[test]
    fn keeps_the_length_and_drops_the_content() {
        let mut answer = response(404, ResponseBody::Full(Some(Bytes::from_static(b"gone"))));
        strip_body(&mut answer);
        assert_eq!(content_length(&answer), Some("4"));
        assert!(answer.body().is_end_stream());
    }

    #[test]
    fn stripping_twice_adds_nothing() {
        let mut answer = response(200, ResponseBody::Full(Some(Bytes::from_static(b"abc"))));
        strip_body(&mut answer);
        strip_body(&mut answer);
        assert_eq!(content_length(&answer), Some("3"));
        let mut emptied = response(200, ResponseBody::Empty);
        strip_body(&mut emptied);
        assert_eq!(content_length(&emptied), None);
    }

    #[test]
    fn a_length_the_handler_set_is_kept() {
        let mut answer = response(200, ResponseBody::Empty);
        answer
            .headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(1234_u64));
        strip_body(&mut answer);
        assert_eq!(content_length(&answer), Some("1234"));
    }

    #[test]
    fn no_length_on_answers_without_content() {
        for status in [204, 304] {
            let mut answer = response(status, ResponseBody::Full(Some(Bytes::from_static(b"x"))));
            strip_body(&mut answer);
            assert_eq!(content_length(&answer), None, "{status}");
            assert!(answer.body().is_end_stream());
        }
    }
}
