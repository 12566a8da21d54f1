//! `Vary`, shared by the layers whose answer depends on a request header.

use http::header::VARY;
use http::{HeaderMap, HeaderValue};

/// Adds `name` to the response's `Vary` unless it (or `*`) is already listed.
pub(crate) fn add_vary(headers: &mut HeaderMap, name: &'static str) {
    let listed = headers.get_all(VARY).iter().any(|value| {
        value.to_str().is_ok_and(|text| {
            text.split(',')
                .map(str::trim)
                .any(|item| item == "*" || item.eq_ignore_ascii_case(name))
        })
    });
    if !listed {
        headers.append(VARY, HeaderValue::from_static(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_once_and_respects_existing_values() {
        let mut headers = HeaderMap::new();
        add_vary(&mut headers, "Origin");
        add_vary(&mut headers, "Origin");
        assert_eq!(headers.get_all(VARY).iter().count(), 1);
        headers.insert(VARY, HeaderValue::from_static("accept-encoding, origin"));
        add_vary(&mut headers, "Origin");
        add_vary(&mut headers, "Accept-Encoding");
        assert_eq!(headers.get_all(VARY).iter().count(), 1);
        headers.insert(VARY, HeaderValue::from_static("*"));
        add_vary(&mut headers, "Cookie");
        assert_eq!(headers.get_all(VARY).iter().count(), 1);
    }
}
