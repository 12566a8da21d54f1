//! A stored answer, and the answers made from it.

use bytes::Bytes;
use cello_http::{Response, ResponseBody};
use http::header::{
    AGE, CACHE_CONTROL, CONNECTION, CONTENT_LENGTH, CONTENT_LOCATION, DATE, ETAG, EXPIRES,
    IF_NONE_MATCH, TRANSFER_ENCODING, UPGRADE, VARY,
};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use std::time::{Duration, Instant};

/// `X-Cache: HIT` on answers from the cache, `MISS` on answers that could have been.
pub(crate) const X_CACHE: HeaderName = HeaderName::from_static("x-cache");
pub(crate) const HIT: HeaderValue = HeaderValue::from_static("HIT");
pub(crate) const MISS: HeaderValue = HeaderValue::from_static("MISS");

/// Headers that describe one connection or one transfer, not the answer.
const NOT_STORED: [HeaderName; 6] = [
    CONNECTION,
    TRANSFER_ENCODING,
    UPGRADE,
    AGE,
    DATE,
    HeaderName::from_static("keep-alive"),
];

/// An answer kept in the cache.
#[derive(Debug)]
pub(crate) struct CachedResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub stored_at: Instant,
    pub expires_at: Instant,
    /// When it was stored, since the Unix epoch: what other workers compute `Age` from.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub stored_wall: Duration,
    /// The route's `X-Cache-Tags`, for invalidation.
    pub tags: Box<[Box<str>]>,
}

impl CachedResponse {
    /// The entry for `headers` and `body` (whose storability was checked), kept for
    /// `ttl` from `stored_at` (`stored_wall` on the wall clock).
    pub(crate) fn new(
        status: StatusCode,
        headers: &HeaderMap,
        body: Bytes,
        (stored_at, stored_wall): (Instant, Duration),
        ttl: Duration,
        tags: Box<[Box<str>]>,
    ) -> Self {
        let mut headers = headers.clone();
        for name in &NOT_STORED {
            headers.remove(name);
        }
        Self {
            status,
            headers,
            body,
            stored_at,
            expires_at: stored_at + ttl,
            stored_wall,
            tags,
        }
    }

    /// Roughly the memory the entry holds, its `key` included.
    pub(crate) fn size(&self, key: usize) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 32)
            .sum();
        let tags: usize = self.tags.iter().map(|tag| tag.len() + 16).sum();
        key + self.body.len() + headers + tags + 128
    }

    pub(crate) fn is_fresh(&self, now: Instant) -> bool {
        now < self.expires_at
    }

    /// How long it is kept for, in all.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn ttl(&self) -> Duration {
        self.expires_at.saturating_duration_since(self.stored_at)
    }

    /// The answer to a request with `request` headers: `304 Not Modified` when its
    /// `If-None-Match` names the entry's tag, without the body for a HEAD.
    pub(crate) fn answer(&self, request: &HeaderMap, head: bool, now: Instant) -> Response {
        let age = HeaderValue::from(now.saturating_duration_since(self.stored_at).as_secs());
        if self.not_modified(request) {
            let mut response = Response::new(ResponseBody::Empty);
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            // The headers RFC 9110 §15.4.5 has a 304 repeat.
            for name in [CACHE_CONTROL, CONTENT_LOCATION, ETAG, EXPIRES, VARY] {
                for value in self.headers.get_all(&name) {
                    response.headers_mut().append(name.clone(), value.clone());
                }
            }
            response.headers_mut().insert(AGE, age);
            response.headers_mut().insert(X_CACHE, HIT);
            return response;
        }
        let body = if head {
            ResponseBody::Empty
        } else {
            ResponseBody::full(self.body.clone())
        };
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        let headers = response.headers_mut();
        if head {
            // What the GET would have said; an empty body would otherwise say 0.
            headers.insert(CONTENT_LENGTH, HeaderValue::from(self.body.len()));
        }
        headers.insert(AGE, age);
        headers.insert(X_CACHE, HIT);
        response
    }

    /// Whether `If-None-Match` matches the entry's `ETag` (the weak comparison that
    /// RFC 9110 §13.1.2 prescribes for it).
    fn not_modified(&self, request: &HeaderMap) -> bool {
        let Some(tag) = self.headers.get(ETAG) else {
            return false;
        };
        let ours = opaque(tag.as_bytes());
        request.get_all(IF_NONE_MATCH).iter().any(|field| {
            field.as_bytes().split(|b| *b == b',').any(|candidate| {
                let candidate = candidate.trim_ascii();
                candidate == b"*" || opaque(candidate) == ours
            })
        })
    }
}

/// `W/"x"` and `"x"` compare equal under the weak comparison.
fn opaque(tag: &[u8]) -> &[u8] {
    tag.strip_prefix(b"W/").unwrap_or(tag)
}
