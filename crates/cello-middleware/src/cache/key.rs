//! Cache keys, in two parts:
//!
//! - the **base**: what the request alone decides: `GET`, the host, the path and the
//!   query as sent (`GET example.com /items?page=2`), and for an authenticated request
//!   cached with `cache_authenticated` its credentials;
//! - the **variant**: the values of the request headers the stored answer's `Vary`
//!   names. The names are kept with the entry, so a lookup knows which headers to read.
//!
//! Keys are bytes: header values need not be UTF-8. Neither part can be confused with
//! another: hosts and paths hold no space, and header values no newline or byte below
//! 0x20 other than tab, which the separators are.

use cello_http::Request;
use http::header::HOST;
use http::{HeaderMap, HeaderName};

/// The base key of `request`, always under `GET` (a HEAD is answered from GET's entry).
pub(crate) fn base(request: &Request, credentials: Option<&[u8]>) -> Box<[u8]> {
    let host = request
        .uri()
        .authority()
        .map(|authority| authority.as_str().as_bytes())
        .or_else(|| request.headers().get(HOST).map(|h| h.as_bytes()))
        .unwrap_or_default();
    let target = request
        .uri()
        .path_and_query()
        .map_or("/", |target| target.as_str());
    let credentials = credentials.unwrap_or_default();
    let mut key = Vec::with_capacity(6 + host.len() + target.len() + credentials.len());
    key.extend_from_slice(b"GET ");
    key.extend(host.iter().map(u8::to_ascii_lowercase));
    key.push(b' ');
    key.extend_from_slice(target.as_bytes());
    key.extend_from_slice(credentials);
    key.into_boxed_slice()
}

/// The variant of a request with `headers` for an entry that varies on `names`: for
/// each name, `\x01` and its values joined with `, `, or `\x00` when it is absent,
/// then a newline.
pub(crate) fn variant(names: &[HeaderName], headers: &HeaderMap) -> Box<[u8]> {
    let mut key = Vec::new();
    for name in names {
        let mut values = headers.get_all(name).iter().peekable();
        if values.peek().is_none() {
            key.push(0);
        } else {
            key.push(1);
            for (index, value) in values.enumerate() {
                if index > 0 {
                    key.extend_from_slice(b", ");
                }
                key.extend_from_slice(value.as_bytes());
            }
        }
        key.push(b'\n');
    }
    key.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::request;

    #[test]
    fn the_base_is_host_path_and_query_under_get() {
        let get = request("GET", "/items?page=2", &[("host", "Example.com")]);
        let head = request("HEAD", "/items?page=2", &[("host", "example.com")]);
        assert_eq!(&*base(&get, None), b"GET example.com /items?page=2");
        assert_eq!(base(&get, None), base(&head, None));
        let other_host = request("GET", "/items?page=2", &[("host", "other.example")]);
        assert_ne!(base(&get, None), base(&other_host, None));
        let absolute = request("GET", "http://example.com/items", &[]);
        assert_eq!(&*base(&absolute, None), b"GET example.com /items");
        assert_ne!(base(&get, Some(b"\nauthorization a")), base(&get, None));
    }

    #[test]
    fn variants_tell_absent_empty_and_repeated_headers_apart() {
        let names = [HeaderName::from_static("accept-encoding")];
        let key = |pairs: &[(&str, &str)]| variant(&names, request("GET", "/", pairs).headers());
        assert_eq!(&*key(&[]), b"\x00\n");
        assert_eq!(&*key(&[("accept-encoding", "")]), b"\x01\n");
        assert_eq!(
            &*key(&[("accept-encoding", "gzip"), ("accept-encoding", "br")]),
            b"\x01gzip, br\n"
        );
        assert_eq!(&*variant(&[], &HeaderMap::new()), b"");
    }
}
