//! HTTP failures as values: each carries its status and becomes an RFC 9457
//! `application/problem+json` response.

use bytes::Bytes;
use http::{header, HeaderValue, StatusCode};

use crate::body::ResponseBody;

/// An error the engine answers on the handler's behalf.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("request body is larger than the limit of {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("request body was not received within {seconds} seconds")]
    BodyTimeout { seconds: f64 },
    #[error("malformed request body: {0}")]
    BodyRead(String),
    #[error("{0}")]
    FormLimit(String),
    #[error("malformed form data: {0}")]
    Form(String),
    #[error("cannot store an uploaded file: {0}")]
    Spool(String),
}

impl HttpError {
    /// The status code the client receives.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::BodyRead(_) | Self::Form(_) => StatusCode::BAD_REQUEST,
            Self::FormLimit(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Spool(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether the connection must be closed after answering (the rest of the body
    /// is unread, so the stream cannot be reused).
    pub fn closes_connection(&self) -> bool {
        true
    }

    /// The problem+json response for this error.
    pub fn to_response(&self) -> http::Response<ResponseBody> {
        let mut response = problem_response(self.status(), &self.to_string());
        if self.closes_connection() {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

/// Builds an `application/problem+json` response with `title` from the status and
/// the given `detail`.
pub fn problem_response(status: StatusCode, detail: &str) -> http::Response<ResponseBody> {
    let title = status.canonical_reason().unwrap_or("Error");
    let mut body = String::with_capacity(80 + detail.len());
    body.push_str("{\"type\":\"about:blank\",\"title\":");
    push_json_string(&mut body, title);
    body.push_str(",\"status\":");
    body.push_str(itoa::Buffer::new().format(status.as_u16()));
    body.push_str(",\"detail\":");
    push_json_string(&mut body, detail);
    body.push('}');
    let mut response = http::Response::new(ResponseBody::full(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(char::from_digit((c as u32) >> 4, 16).unwrap_or('0'));
                out.push(char::from_digit((c as u32) & 0xf, 16).unwrap_or('0'));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_body_is_escaped_json() {
        let response = problem_response(StatusCode::BAD_REQUEST, "bad \"quote\"\n");
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let body = response.into_body().into_full().unwrap();
        assert_eq!(
            &body[..],
            br#"{"type":"about:blank","title":"Bad Request","status":400,"detail":"bad \"quote\"\n"}"#
        );
    }

    #[test]
    fn limit_errors_close_the_connection() {
        let response = HttpError::BodyTooLarge { limit: 10 }.to_response();
        assert_eq!(response.status(), 413);
        assert_eq!(response.headers()[header::CONNECTION], "close");
    }
}
