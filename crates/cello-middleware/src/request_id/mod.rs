//! Request ids: the client's `X-Request-ID` is kept when it is a sane token, otherwise
//! a new one (a random UUID v4) is made. The id goes into the request's extensions
//! (`RequestIdValue`, which `request.request_id` reads), back on the response, and into
//! the body of every problem+json error answered for the request.

use bytes::{Bytes, BytesMut};
use cello_http::{Request, Response, ResponseBody};
use http::header::CONTENT_TYPE;
use http::{HeaderName, HeaderValue};

use crate::chain::Exchange;
use crate::error::{header_name, ConfigError};

/// The longest client-supplied id that is kept.
pub const MAX_LENGTH: usize = 128;

/// Options of the request-id layer.
#[derive(Clone, Debug)]
pub struct RequestIdConfig {
    /// The header read and written.
    pub header: String,
    /// Whether a valid id sent by the client is kept (otherwise one is always made).
    pub trust_incoming: bool,
}

impl Default for RequestIdConfig {
    fn default() -> Self {
        Self {
            header: "x-request-id".into(),
            trust_incoming: true,
        }
    }
}

/// The id of the request being handled, in the request's extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestIdValue(pub HeaderValue);

impl RequestIdValue {
    /// The id as text (always ASCII).
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }
}

/// The request-id layer.
#[derive(Debug)]
pub struct RequestId {
    header: HeaderName,
    trust_incoming: bool,
}

impl RequestId {
    /// Validates `config`.
    pub fn new(config: &RequestIdConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            header: header_name("request id header", &config.header)?,
            trust_incoming: config.trust_incoming,
        })
    }

    pub(crate) fn before(
        &self,
        request: &mut Request,
        exchange: &mut Exchange,
    ) -> Option<Response> {
        let incoming = self
            .trust_incoming
            .then(|| request.headers().get(&self.header))
            .flatten()
            .filter(|value| is_valid(value.as_bytes()))
            .cloned();
        let id = incoming.unwrap_or_else(generate);
        request.extensions_mut().insert(RequestIdValue(id.clone()));
        exchange.request_id = Some(id);
        None
    }

    pub(crate) fn after(&self, exchange: &mut Exchange, response: &mut Response) {
        let Some(id) = exchange.request_id.take() else {
            return;
        };
        let problem = response
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|value| value.as_bytes().starts_with(b"application/problem+json"));
        if problem {
            add_to_problem(response, &id);
        }
        response.headers_mut().insert(self.header.clone(), id);
    }
}

/// A client-supplied id is kept if it is 1–128 characters of letters, digits and
/// `-_.:/+=@`: enough for UUIDs, ULIDs and trace ids, nothing that could forge a log
/// line or smuggle markup.
pub fn is_valid(id: &[u8]) -> bool {
    (1..=MAX_LENGTH).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=@".contains(b))
}

/// A random UUID v4 (fastrand is seeded per thread from the OS, so workers differ).
fn generate() -> HeaderValue {
    let bits = fastrand::u128(..) & !(0xF000 << 64) & !(0xC << 60) | (0x4000 << 64) | (0x8 << 60);
    let hex = format!("{bits:032x}");
    let text = format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    );
    HeaderValue::from_str(&text).expect("hex and dashes")
}

/// Adds `"request_id": id` to a buffered problem+json object.
fn add_to_problem(response: &mut Response, id: &HeaderValue) {
    let ResponseBody::Full(Some(body)) = response.body() else {
        return;
    };
    let Some(close) = body.iter().rposition(|b| *b == b'}') else {
        return;
    };
    if body.windows(13).any(|w| w == b"\"request_id\":") {
        return;
    }
    let mut out = BytesMut::with_capacity(body.len() + id.len() + 16);
    out.extend_from_slice(&body[..close]);
    out.extend_from_slice(b",\"request_id\":\"");
    out.extend_from_slice(id.as_bytes()); // valid ids need no JSON escaping
    out.extend_from_slice(b"\"");
    out.extend_from_slice(&body[close..]);
    let out: Bytes = out.freeze();
    if let Some(length) = response.headers_mut().get_mut(http::header::CONTENT_LENGTH) {
        *length = HeaderValue::from(out.len());
    }
    *response.body_mut() = ResponseBody::full(out);
}

#[cfg(test)]
mod tests;
