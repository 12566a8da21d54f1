//! What may use the cache and what may be stored in it, read from headers.

use std::time::Duration;

use cello_http::{Response, ResponseBody};
use http::header::{AUTHORIZATION, CACHE_CONTROL, COOKIE, PRAGMA, SET_COOKIE, VARY};
use http::{HeaderMap, HeaderName, StatusCode};

use super::config::MAX_TTL;

/// What the request's `Cache-Control` (or, without it, `Pragma`) asks of caches.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RequestDirectives {
    /// Do not answer from the cache (revalidate): the handler runs, its answer is stored.
    pub no_cache: bool,
    /// Neither answer from the cache nor store the answer.
    pub no_store: bool,
}

pub(crate) fn request_directives(headers: &HeaderMap) -> RequestDirectives {
    let mut directives = RequestDirectives::default();
    if !headers.contains_key(CACHE_CONTROL) {
        // HTTP/1.0 clients (RFC 9111 §5.4).
        directives.no_cache = has_directive(headers, &PRAGMA, "no-cache");
        return directives;
    }
    directives.no_cache = has_directive(headers, &CACHE_CONTROL, "no-cache")
        || has_directive(headers, &CACHE_CONTROL, "max-age=0");
    directives.no_store = has_directive(headers, &CACHE_CONTROL, "no-store");
    directives
}

/// Whether a directive `name` (case-insensitive; `name` may carry `=value` to match a
/// value too) is in any of the `header` fields.
fn has_directive(headers: &HeaderMap, header: &HeaderName, name: &str) -> bool {
    let (wanted, value) = match name.split_once('=') {
        Some((wanted, value)) => (wanted, Some(value)),
        None => (name, None),
    };
    headers.get_all(header).iter().any(|field| {
        field.to_str().is_ok_and(|text| {
            text.split(',').any(|directive| {
                let (key, given) = match directive.split_once('=') {
                    Some((key, given)) => (key.trim(), Some(given.trim())),
                    None => (directive.trim(), None),
                };
                key.eq_ignore_ascii_case(wanted) && (value.is_none() || value == given)
            })
        })
    })
}

/// The credentials of an authenticated request: its `Authorization` and the values of
/// its session cookies, in a form fit for a key; `None` for an anonymous request.
pub(crate) fn credentials(headers: &HeaderMap, session_cookies: &[Box<str>]) -> Option<Vec<u8>> {
    let mut found = Vec::new();
    for value in headers.get_all(AUTHORIZATION) {
        found.extend_from_slice(b"\nauthorization ");
        found.extend_from_slice(value.as_bytes());
    }
    for field in headers.get_all(COOKIE) {
        for pair in field.as_bytes().split(|b| *b == b';') {
            let pair = pair.trim_ascii();
            let name = pair.split(|b| *b == b'=').next().unwrap_or_default();
            if session_cookies.iter().any(|c| c.as_bytes() == name) {
                found.extend_from_slice(b"\ncookie ");
                found.extend_from_slice(pair);
            }
        }
    }
    (!found.is_empty()).then_some(found)
}

/// Whether `path` is one of `excluded` or under one of them.
pub(crate) fn excluded(path: &str, excluded: &[Box<str>]) -> bool {
    excluded.iter().any(|prefix| {
        let prefix = prefix.trim_end_matches('/');
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// Why an answer was not stored (for tests and debugging).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NotStored {
    Status,
    Streamed,
    SetCookie,
    CacheControl,
    VaryStar,
    Ttl,
    TooLarge,
}

/// The `Vary` names of an answer that may be stored: lower-case, sorted, once each.
pub(crate) fn check_storable(
    response: &Response,
    max_entry_size: usize,
) -> Result<Vec<HeaderName>, NotStored> {
    if response.status() != StatusCode::OK {
        return Err(NotStored::Status);
    }
    let body_length = match response.body() {
        ResponseBody::Empty => 0,
        ResponseBody::Full(body) => body.as_ref().map_or(0, |b| b.len()),
        ResponseBody::Stream(_) => return Err(NotStored::Streamed),
    };
    let headers = response.headers();
    if headers.contains_key(SET_COOKIE) {
        return Err(NotStored::SetCookie);
    }
    if ["no-store", "private", "no-cache"]
        .iter()
        .any(|directive| has_directive(headers, &CACHE_CONTROL, directive))
    {
        return Err(NotStored::CacheControl);
    }
    let header_length: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if body_length + header_length > max_entry_size {
        return Err(NotStored::TooLarge);
    }
    let mut names = Vec::new();
    for field in headers.get_all(VARY) {
        let Ok(text) = field.to_str() else {
            return Err(NotStored::VaryStar); // unreadable: as good as `*`
        };
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if item == "*" {
                return Err(NotStored::VaryStar);
            }
            let Ok(name) = HeaderName::from_bytes(item.as_bytes()) else {
                return Err(NotStored::VaryStar);
            };
            names.push(name);
        }
    }
    names.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    names.dedup();
    Ok(names)
}

/// The header a route's `@cache(ttl=...)` sends; stripped before the client sees it.
pub(crate) const X_CACHE_TTL: HeaderName = HeaderName::from_static("x-cache-ttl");
/// The header a route's `@cache(tags=[...])` sends (comma-joined); stripped too.
pub(crate) const X_CACHE_TAGS: HeaderName = HeaderName::from_static("x-cache-tags");

/// The time to keep an answer: the route's `X-Cache-TTL` (seconds, whole or not)
/// or the configured default; `Err` when the header says 0 or is not a number.
pub(crate) fn ttl(route_ttl: Option<&[u8]>, default: Duration) -> Result<Duration, NotStored> {
    let Some(text) = route_ttl else {
        return Ok(default);
    };
    let seconds = std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .ok_or(NotStored::Ttl)?;
    Ok(Duration::from_secs_f64(seconds.min(MAX_TTL.as_secs_f64())))
}

/// The tags of `X-Cache-Tags` fields: comma-separated, trimmed, once each.
pub(crate) fn tags<'a>(fields: impl Iterator<Item = &'a [u8]>) -> Box<[Box<str>]> {
    let mut tags: Vec<Box<str>> = Vec::new();
    for field in fields {
        let Ok(text) = std::str::from_utf8(field) else {
            continue;
        };
        for tag in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if !tags.iter().any(|t| &**t == tag) {
                tags.push(tag.into());
            }
        }
    }
    tags.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, http::HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn request_directives_read_cache_control_then_pragma() {
        let read = |pairs| request_directives(&headers(pairs));
        assert!(read(&[("cache-control", "No-Cache")]).no_cache);
        assert!(read(&[("cache-control", "max-age=0")]).no_cache);
        assert!(read(&[("pragma", "no-cache")]).no_cache);
        assert!(!read(&[("cache-control", "max-age=60"), ("pragma", "no-cache")]).no_cache);
        assert!(read(&[("cache-control", "max-stale, no-store")]).no_store);
        assert_eq!(read(&[]), RequestDirectives::default());
    }

    #[test]
    fn credentials_are_authorization_and_session_cookies_only() {
        let sessions = [Box::from("session_id")];
        let read = |pairs| credentials(&headers(pairs), &sessions);
        assert_eq!(read(&[("cookie", "theme=dark; _ga=1")]), None);
        let with_session = read(&[("cookie", "theme=dark; session_id=abc")]).unwrap();
        assert_eq!(with_session, b"\ncookie session_id=abc");
        assert!(read(&[("authorization", "Bearer x")]).is_some());
    }

    #[test]
    fn excluded_paths_cover_their_subtree_only() {
        let list = [Box::from("/admin"), Box::from("/api/private/")];
        assert!(excluded("/admin", &list));
        assert!(excluded("/admin/users", &list));
        assert!(!excluded("/administrators", &list));
        assert!(excluded("/api/private/x", &list));
        assert!(!excluded("/", &list));
    }

    #[test]
    fn route_ttl_and_tags_are_parsed_leniently_but_never_as_zero() {
        let default = Duration::from_secs(300);
        assert_eq!(ttl(None, default), Ok(default));
        assert_eq!(ttl(Some(b" 60 "), default), Ok(Duration::from_secs(60)));
        assert_eq!(ttl(Some(b"1.5"), default), Ok(Duration::from_millis(1500)));
        assert_eq!(ttl(Some(b"0"), default), Err(NotStored::Ttl));
        assert_eq!(ttl(Some(b"soon"), default), Err(NotStored::Ttl));
        assert_eq!(ttl(Some(b"1e30"), default), Ok(MAX_TTL));
        let fields = [&b"users, user:7"[..], b"users,,feed"];
        let tags = tags(fields.into_iter());
        let tags: Vec<&str> = tags.iter().map(|tag| &**tag).collect();
        assert_eq!(tags, ["users", "user:7", "feed"]);
    }
}
