//! Query strings and `application/x-www-form-urlencoded` bodies: what
//! `cello_http::multipart::parse_urlencoded` (forms) and `form_urlencoded::parse`
//! (`request.query`, `PyQueryParams::parse`) read. Invariant: the pairs survive a
//! serialise-and-parse round trip unchanged, and both readers agree.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pairs = cello_http::multipart::parse_urlencoded(data);
    let query: Vec<(String, String)> = form_urlencoded::parse(data)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    assert_eq!(
        pairs, query,
        "the form reader and the query reader disagree"
    );
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    assert_eq!(
        cello_http::multipart::parse_urlencoded(encoded.as_bytes()),
        pairs,
        "round trip through {encoded:?}"
    );
});
