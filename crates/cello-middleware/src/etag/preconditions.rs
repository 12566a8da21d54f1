//! Conditional requests (RFC 9110, 13): the four precondition headers, parsed once,
//! evaluated in the RFC's order against what the server knows of the resource.
//!
//! The ETag layer evaluates them itself for GET and HEAD, against the response (which
//! *is* the current representation). For other methods it cannot: the preconditions
//! must hold *before* the method is performed, and only the handler knows the
//! resource's current state. Handlers (and the Python binding) use
//! [`Preconditions::from_headers`] and [`Preconditions::evaluate`] for that.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cello_http::{problem_response, Response, ResponseBody};
use http::header::{
    CACHE_CONTROL, CONTENT_LOCATION, DATE, ETAG, EXPIRES, IF_MATCH, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, IF_UNMODIFIED_SINCE, LAST_MODIFIED, SET_COOKIE, VARY,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use super::tag::{weakened, Tag, TagList};

/// The precondition headers of one request.
#[derive(Clone, Debug, Default)]
pub struct Preconditions {
    if_match: Option<TagList>,
    if_none_match: Option<TagList>,
    if_modified_since: Option<SystemTime>,
    if_unmodified_since: Option<SystemTime>,
}

/// What the server knows of the target resource's current representation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Representation<'a> {
    /// Its entity tag, as an `ETag` header carries it (`"v7"` or `W/"v7"`).
    pub etag: Option<&'a HeaderValue>,
    /// When it last changed (compared in whole seconds, as HTTP dates are).
    pub last_modified: Option<SystemTime>,
}

/// What the preconditions decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Perform the method and answer as usual.
    Proceed,
    /// GET or HEAD: the client's copy is current; answer 304.
    NotModified,
    /// A precondition failed: do not perform the method; answer 412
    /// ([`precondition_failed`]).
    PreconditionFailed,
}

impl Preconditions {
    /// The preconditions of a request with `headers`; `None` when it has none (the
    /// common case, which costs four lookups).
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let parsed = Self {
            if_match: TagList::from_values(headers.get_all(IF_MATCH).iter()),
            if_none_match: TagList::from_values(headers.get_all(IF_NONE_MATCH).iter()),
            if_modified_since: http_date(headers, &IF_MODIFIED_SINCE),
            if_unmodified_since: http_date(headers, &IF_UNMODIFIED_SINCE),
        };
        let any = parsed.if_match.is_some()
            || parsed.if_none_match.is_some()
            || parsed.if_modified_since.is_some()
            || parsed.if_unmodified_since.is_some();
        any.then_some(parsed)
    }

    /// Evaluates the preconditions of a `method` request against `current`, the
    /// resource's current representation (`None`: the resource has none, as before a
    /// `PUT` creates it), in the order of RFC 9110, 13.2.2:
    ///
    /// 1. `If-Match` (strong comparison; `*` holds when there is a representation),
    ///    false → 412;
    /// 2. else `If-Unmodified-Since`, false → 412 (holds when no date is known);
    /// 3. `If-None-Match` (weak comparison; `*` fails when there is a
    ///    representation), false → 304 for GET/HEAD, 412 otherwise;
    /// 4. else, for GET/HEAD, `If-Modified-Since`, false → 304.
    pub fn evaluate(&self, method: &Method, current: Option<Representation<'_>>) -> Outcome {
        let current_tag = current
            .and_then(|c| c.etag)
            .and_then(|v| Tag::parse(v.as_bytes()));
        let modified = current.and_then(|c| c.last_modified).map(whole_seconds);
        if let Some(list) = &self.if_match {
            let holds = match list {
                TagList::Any => current.is_some(),
                TagList::Tags(_) => current_tag.is_some_and(|ours| list.any(|t| t.strong_eq(ours))),
            };
            if !holds {
                return Outcome::PreconditionFailed;
            }
        } else if let (Some(since), Some(modified)) = (self.if_unmodified_since, modified) {
            if modified > whole_seconds(since) {
                return Outcome::PreconditionFailed;
            }
        }
        let safe = method == Method::GET || method == Method::HEAD;
        if let Some(list) = &self.if_none_match {
            let holds = match list {
                TagList::Any => current.is_none(),
                TagList::Tags(_) => !current_tag.is_some_and(|ours| list.any(|t| t.weak_eq(ours))),
            };
            if !holds {
                return if safe {
                    Outcome::NotModified
                } else {
                    Outcome::PreconditionFailed
                };
            }
        } else if let (true, Some(since), Some(modified)) = (safe, self.if_modified_since, modified)
        {
            if modified <= whole_seconds(since) {
                return Outcome::NotModified;
            }
        }
        Outcome::Proceed
    }

    /// Whether the client holds `ours` only in its weak form (`W/"x"` for our `"x"`):
    /// a compressing layer or proxy weakened it. The 304 then carries the weak form,
    /// so that a cache finds the stored response the 304 refreshes (RFC 9111, 4.3.4).
    pub(crate) fn holds_weakened(&self, ours: &HeaderValue) -> bool {
        let (Some(list), Some(ours)) = (&self.if_none_match, Tag::parse(ours.as_bytes())) else {
            return false;
        };
        !ours.weak
            && list.any(|t| t.weak && t.opaque == ours.opaque)
            && !list.any(|t| t.strong_eq(ours))
    }
}

/// A valid HTTP date in the header's only line; anything else is ignored, as RFC 9110
/// asks (13.1.3, 13.1.4).
fn http_date(headers: &HeaderMap, name: &http::HeaderName) -> Option<SystemTime> {
    let mut lines = headers.get_all(name).iter();
    let value = lines.next()?;
    if lines.next().is_some() {
        return None;
    }
    httpdate::parse_http_date(value.to_str().ok()?).ok()
}

pub(crate) fn whole_seconds(time: SystemTime) -> SystemTime {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |age| age.as_secs());
    UNIX_EPOCH + Duration::from_secs(seconds)
}

/// The 412 answer: problem+json.
pub fn precondition_failed() -> Response {
    problem_response(
        StatusCode::PRECONDITION_FAILED,
        "a precondition of the request (If-Match, If-None-Match or If-Unmodified-Since) \
         does not hold for the current state of the resource",
    )
}

/// The headers a 304 keeps from the 200 it stands for (RFC 9110, 15.4.5), plus
/// `Set-Cookie` (a session or CSRF cookie set by the handler must not be lost) and
/// `Last-Modified` (cheap, and used by caches without an ETag).
const KEPT_BY_304: [http::HeaderName; 8] = [
    CACHE_CONTROL,
    CONTENT_LOCATION,
    DATE,
    ETAG,
    EXPIRES,
    VARY,
    SET_COOKIE,
    LAST_MODIFIED,
];

/// The 304 that stands for `full`: no body, no content headers.
pub(crate) fn not_modified(full: &Response, preconditions: &Preconditions) -> Response {
    let mut response = Response::new(ResponseBody::Empty);
    *response.status_mut() = StatusCode::NOT_MODIFIED;
    let headers = response.headers_mut();
    for name in KEPT_BY_304 {
        for value in full.headers().get_all(&name) {
            headers.append(name.clone(), value.clone());
        }
    }
    if let Some(ours) = headers.get(ETAG) {
        if preconditions.holds_weakened(ours) {
            let weak = weakened(ours);
            headers.insert(ETAG, weak);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preconditions(pairs: &[(&'static str, &'static str)]) -> Preconditions {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        Preconditions::from_headers(&headers).expect("a precondition")
    }

    const MAY_1: &str = "Wed, 01 May 2024 00:00:00 GMT";
    const JUNE_1: &str = "Sat, 01 Jun 2024 00:00:00 GMT";

    fn at(date: &str) -> SystemTime {
        httpdate::parse_http_date(date).unwrap()
    }

    #[test]
    fn no_precondition_headers_is_none() {
        let mut headers = HeaderMap::new();
        headers.insert("if-range", HeaderValue::from_static("\"x\""));
        assert!(Preconditions::from_headers(&headers).is_none());
        headers.insert(IF_MODIFIED_SINCE, HeaderValue::from_static("not a date"));
        assert!(Preconditions::from_headers(&headers).is_none());
        // two dates are not a date
        headers.insert(IF_MODIFIED_SINCE, HeaderValue::from_static(MAY_1));
        headers.append(IF_MODIFIED_SINCE, HeaderValue::from_static(JUNE_1));
        assert!(Preconditions::from_headers(&headers).is_none());
    }

    /// What the server holds in each case.
    #[derive(Clone, Copy, Debug)]
    enum Held {
        /// `"v1"`, modified on May 1st at 00:00:00.7
        Strong,
        /// `W/"v1"`, same date
        Weak,
        /// `"v1"`, no date
        Undated,
        /// nothing: the resource does not exist
        Missing,
    }

    fn evaluate(headers: &[(&'static str, &'static str)], method: &str, held: Held) -> Outcome {
        let strong = HeaderValue::from_static("\"v1\"");
        let weak = HeaderValue::from_static("W/\"v1\"");
        let date = Some(at(MAY_1) + Duration::from_millis(700));
        let current = match held {
            Held::Strong => Some(Representation {
                etag: Some(&strong),
                last_modified: date,
            }),
            Held::Weak => Some(Representation {
                etag: Some(&weak),
                last_modified: date,
            }),
            Held::Undated => Some(Representation {
                etag: Some(&strong),
                last_modified: None,
            }),
            Held::Missing => None,
        };
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        preconditions(headers).evaluate(&method, current)
    }

    #[test]
    fn the_rfc_order_and_comparisons() {
        use Held::*;
        use Outcome::*;
        const APRIL_30: &str = "Tue, 30 Apr 2024 00:00:00 GMT";
        let single: &[(&str, &str, &str, Held, Outcome)] = &[
            ("if-match", "\"v1\"", "PUT", Strong, Proceed),
            ("if-match", "\"v0\", \"v1\"", "PUT", Strong, Proceed),
            ("if-match", "\"v0\"", "PUT", Strong, PreconditionFailed),
            // strong comparison: a weak tag never satisfies If-Match
            ("if-match", "W/\"v1\"", "PUT", Strong, PreconditionFailed),
            ("if-match", "\"v1\"", "PUT", Weak, PreconditionFailed),
            ("if-match", "*", "PUT", Strong, Proceed),
            ("if-match", "*", "PUT", Missing, PreconditionFailed),
            ("if-match", "garbage", "PUT", Strong, PreconditionFailed),
            ("if-match", "\"v0\"", "GET", Strong, PreconditionFailed),
            // If-Unmodified-Since, in whole seconds; holds when no date is known
            ("if-unmodified-since", MAY_1, "PUT", Strong, Proceed),
            (
                "if-unmodified-since",
                APRIL_30,
                "PUT",
                Strong,
                PreconditionFailed,
            ),
            ("if-unmodified-since", APRIL_30, "PUT", Undated, Proceed),
            // If-None-Match: weak comparison; 304 for GET/HEAD, 412 otherwise
            ("if-none-match", "W/\"v1\"", "GET", Strong, NotModified),
            ("if-none-match", "\"v1\"", "GET", Weak, NotModified),
            ("if-none-match", "\"v0\"", "GET", Strong, Proceed),
            ("if-none-match", "\"v1\"", "PUT", Strong, PreconditionFailed),
            ("if-none-match", "*", "PUT", Missing, Proceed),
            ("if-none-match", "*", "PUT", Strong, PreconditionFailed),
            ("if-none-match", "*", "HEAD", Strong, NotModified),
            // If-Modified-Since: GET/HEAD only, in whole seconds
            ("if-modified-since", MAY_1, "GET", Strong, NotModified),
            ("if-modified-since", JUNE_1, "HEAD", Strong, NotModified),
            ("if-modified-since", APRIL_30, "GET", Strong, Proceed),
            ("if-modified-since", MAY_1, "PUT", Strong, Proceed),
        ];
        for (name, value, method, held, expected) in single {
            let got = evaluate(&[(name, value)], method, *held);
            assert_eq!(got, *expected, "{method} {name}: {value} with {held:?}");
        }
        // If-Unmodified-Since is ignored when If-Match is there ...
        let both = [("if-match", "\"v1\""), ("if-unmodified-since", APRIL_30)];
        assert_eq!(evaluate(&both, "PUT", Strong), Proceed);
        // ... and If-Modified-Since when If-None-Match is
        let both = [("if-none-match", "\"v0\""), ("if-modified-since", JUNE_1)];
        assert_eq!(evaluate(&both, "GET", Strong), Proceed);
    }

    #[test]
    fn a_304_keeps_the_validators_and_the_client_s_weak_form() {
        let mut full = Response::new(ResponseBody::full("body"));
        let headers = full.headers_mut();
        headers.insert(ETAG, HeaderValue::from_static("\"v1\""));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=60"));
        headers.insert("content-type", HeaderValue::from_static("text/plain"));
        headers.insert("content-length", HeaderValue::from_static("4"));
        headers.append(SET_COOKIE, HeaderValue::from_static("a=1"));
        headers.append(SET_COOKIE, HeaderValue::from_static("b=2"));
        let strong = not_modified(&full, &preconditions(&[("if-none-match", "\"v1\"")]));
        assert_eq!(strong.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(strong.headers()[ETAG], "\"v1\"");
        assert_eq!(strong.headers()[CACHE_CONTROL], "max-age=60");
        assert_eq!(strong.headers().get_all(SET_COOKIE).iter().count(), 2);
        assert!(strong.headers().get("content-type").is_none());
        assert!(strong.headers().get("content-length").is_none());
        let weak = not_modified(&full, &preconditions(&[("if-none-match", "W/\"v1\"")]));
        assert_eq!(weak.headers()[ETAG], "W/\"v1\"");
    }
}
