//! The rate-limit fields of a response.
//!
//! draft-ietf-httpapi-ratelimit-headers (-09, -10): `RateLimit-Policy` is a structured
//! field list of quota policies (`"default";q=100;w=60`: 100 units per 60 seconds) and
//! `RateLimit` the service limit now (`"default";r=42;t=3`: 42 left, more quota in 3
//! seconds; `t` is delta seconds, never an epoch). The `X-RateLimit-*` trio carries the
//! same numbers for clients written for the original framework, `X-RateLimit-Reset` in
//! delta seconds too. A 429 also gets `Retry-After`, never earlier than `t` (draft §6).

use std::fmt::Write as _;

use cello_http::Response;
use http::header::RETRY_AFTER;
use http::{HeaderMap, HeaderName, HeaderValue};

const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// The numbers a charged request's response carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fields {
    pub(crate) quota: u64,
    pub(crate) window_secs: u64,
    pub(crate) remaining: u64,
    pub(crate) reset_secs: u64,
}

/// Adds the draft's fields and the `X-RateLimit-*` ones to `response`.
pub(crate) fn add(response: &mut Response, fields: &Fields) {
    let headers = response.headers_mut();
    let mut text = String::with_capacity(40);
    let _ = write!(
        text,
        "\"default\";q={};w={}",
        fields.quota, fields.window_secs
    );
    insert(headers, RATELIMIT_POLICY, &text);
    text.clear();
    let _ = write!(
        text,
        "\"default\";r={};t={}",
        fields.remaining, fields.reset_secs
    );
    insert(headers, RATELIMIT, &text);
    headers.insert(X_RATELIMIT_LIMIT, fields.quota.into());
    headers.insert(X_RATELIMIT_REMAINING, fields.remaining.into());
    headers.insert(X_RATELIMIT_RESET, fields.reset_secs.into());
}

/// `Retry-After` in whole seconds.
pub(crate) fn retry_after(response: &mut Response, seconds: u64) {
    response.headers_mut().insert(RETRY_AFTER, seconds.into());
}

fn insert(headers: &mut HeaderMap, name: HeaderName, text: &str) {
    // Digits, quotes and letters: always a valid header value.
    if let Ok(value) = HeaderValue::from_str(text) {
        headers.insert(name, value);
    }
}
