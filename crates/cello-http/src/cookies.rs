//! The `Cookie` request header (RFC 6265 section 5.4): `name=value` pairs separated by
//! `;`, read leniently as browsers send them.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// The cookies of one `Cookie` header value, in order: the name trimmed, the value
/// trimmed, unquoted and percent-decoded (invalid UTF-8 after decoding becomes U+FFFD).
/// A pair without `=` is skipped; a later pair of the same name comes later in the
/// iteration (the caller decides whether the first or the last wins).
pub fn parse(header: &str) -> impl Iterator<Item = (&str, Cow<'_, str>)> {
    header.split(';').filter_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        let value = value.trim().trim_matches('"');
        Some((name.trim(), percent_decode_str(value).decode_utf8_lossy()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(header: &str) -> Vec<(String, String)> {
        parse(header)
            .map(|(name, value)| (name.to_owned(), value.into_owned()))
            .collect()
    }

    #[test]
    fn splits_trims_unquotes_and_decodes() {
        assert_eq!(
            pairs(" a=1; b = \"two words\" ;c=%E2%9C%93;junk; d="),
            [
                ("a".into(), "1".into()),
                ("b".into(), "two words".into()),
                ("c".into(), "\u{2713}".into()),
                ("d".into(), String::new()),
            ]
        );
    }

    #[test]
    fn invalid_percent_escapes_and_utf8_do_not_fail() {
        assert_eq!(
            pairs("a=%ff%; b=%zz"),
            [("a".into(), "\u{fffd}%".into()), ("b".into(), "%zz".into()),]
        );
    }
}
