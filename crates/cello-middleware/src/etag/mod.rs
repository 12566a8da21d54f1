//! ETags and conditional GETs: the innermost layer, so that its `after` sees the
//! handler's bytes before compression weakens the tag.
//!
//! - A `200` answer to GET or HEAD with an in-memory body (`ResponseBody::Full`) and no
//!   `ETag` gets one: the XXH3-128 hash of the bytes, base64url, quoted; strong unless
//!   [`EtagConfig::weak`]. Streamed bodies get none (hashing them would mean holding
//!   them); a handler that knows a stream's version sets `ETag` itself.
//! - `If-None-Match` / `If-Modified-Since` (and `If-Match` / `If-Unmodified-Since`) on
//!   GET and HEAD are evaluated in `after`, against the response, which is the current
//!   representation: a match becomes a `304` with the validators and cache headers and
//!   without the body; a failed `If-Match` a `412`. Only `200` answers are examined:
//!   errors and redirects are never turned into a 304.
//! - Other methods: the preconditions must hold *before* the change, and only the
//!   handler knows the resource's current state, so the layer never guesses. It does
//!   not judge the handler's answer after the fact either: the `ETag` of a `PUT`'s
//!   answer is the *new* state's, which a correct `If-Match` never names, and the
//!   change has happened by then. Handlers evaluate the request's [`Preconditions`]
//!   against the current state before changing anything, and answer
//!   [`precondition_failed`] (412) when they fail.
//!
//! The GET handler still runs for a 304: the layer saves the bytes on the wire, not the
//! work of making them (a handler that can tell its version cheaply evaluates the
//! preconditions itself and answers 304 early).

mod preconditions;
mod tag;

use cello_http::{Request, Response, ResponseBody};
use http::header::{ETAG, LAST_MODIFIED};
use http::{Method, StatusCode};

use crate::chain::Exchange;
use crate::error::ConfigError;
pub(crate) use preconditions::{not_modified, whole_seconds};
pub use preconditions::{precondition_failed, Outcome, Preconditions, Representation};
pub(crate) use tag::Tag;

/// ETag options.
#[derive(Clone, Debug, Default)]
pub struct EtagConfig {
    /// Make weak tags (`W/"..."`): for handlers whose equal content may differ in bytes
    /// (key order, whitespace) and for apps that want no strong promise. Weak tags
    /// never satisfy `If-Match` or `If-Range`.
    pub weak: bool,
}

/// The ETag layer.
#[derive(Debug)]
pub struct Etag {
    weak: bool,
}

impl Etag {
    /// The layer for `config` (there is nothing to refuse).
    pub fn new(config: &EtagConfig) -> Result<Self, ConfigError> {
        Ok(Self { weak: config.weak })
    }

    pub(crate) fn before(
        &self,
        request: &mut Request,
        exchange: &mut Exchange,
    ) -> Option<Response> {
        if is_safe(request.method()) {
            exchange.preconditions = Preconditions::from_headers(request.headers()).map(Box::new);
        }
        None
    }

    pub(crate) fn after(&self, exchange: &mut Exchange, response: &mut Response) {
        if !is_safe(&exchange.method) || response.status() != StatusCode::OK {
            return;
        }
        if !response.headers().contains_key(ETAG) {
            if let ResponseBody::Full(Some(bytes)) = response.body() {
                let tag = tag::hashed(bytes, self.weak);
                response.headers_mut().insert(ETAG, tag);
            }
        }
        let Some(preconditions) = exchange.preconditions.take() else {
            return;
        };
        let headers = response.headers();
        let current = Representation {
            etag: headers.get(ETAG),
            last_modified: headers
                .get(LAST_MODIFIED)
                .and_then(|value| value.to_str().ok())
                .and_then(|text| httpdate::parse_http_date(text).ok()),
        };
        match preconditions.evaluate(&exchange.method, Some(current)) {
            Outcome::Proceed => {}
            Outcome::NotModified => {
                *response = not_modified(response, &preconditions);
            }
            Outcome::PreconditionFailed => *response = precondition_failed(),
        }
    }
}

fn is_safe(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

#[cfg(test)]
mod tests;
