//! Entity tags (RFC 9110, 8.8.3): the lists of `If-Match` and `If-None-Match`, the
//! strong and weak comparisons, and the tags this crate makes from a body's bytes.

use data_encoding::BASE64URL_NOPAD;
use http::HeaderValue;

/// An entity tag borrowed from a header value: `"xyz"` or `W/"xyz"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tag<'a> {
    pub(crate) weak: bool,
    /// The bytes between the quotes.
    pub(crate) opaque: &'a [u8],
}

impl<'a> Tag<'a> {
    /// One whole tag (the value of an `ETag` header); `None` when it is malformed.
    pub(crate) fn parse(value: &'a [u8]) -> Option<Self> {
        let (tag, rest) = next_tag(value.trim_ascii())?;
        rest.trim_ascii().is_empty().then_some(tag)
    }

    /// Both strong and the same: the bytes are the same (ranges, `If-Match`).
    pub(crate) fn strong_eq(self, other: Tag<'_>) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }

    /// The same, weak or not: the content is equivalent (`If-None-Match`).
    pub(crate) fn weak_eq(self, other: Tag<'_>) -> bool {
        self.opaque == other.opaque
    }
}

/// `etagc = %x21 / %x23-7E / obs-text`: anything visible but the double quote.
fn is_etagc(byte: u8) -> bool {
    byte == 0x21 || (0x23..=0x7e).contains(&byte) || byte >= 0x80
}

/// The tag at the start of `input`, and what follows it.
fn next_tag(input: &[u8]) -> Option<(Tag<'_>, &[u8])> {
    let (weak, rest) = match input.strip_prefix(b"W/") {
        Some(rest) => (true, rest),
        None => (false, input),
    };
    let rest = rest.strip_prefix(b"\"")?;
    let end = rest.iter().position(|&byte| byte == b'"')?;
    let opaque = &rest[..end];
    opaque
        .iter()
        .all(|&byte| is_etagc(byte))
        .then_some((Tag { weak, opaque }, &rest[end + 1..]))
}

/// The value of an `If-Match` or `If-None-Match`: `*` or a list of tags, over one or
/// more header lines (kept as they came; parsed when compared, which is once).
#[derive(Clone, Debug)]
pub(crate) enum TagList {
    Any,
    Tags(Vec<HeaderValue>),
}

impl TagList {
    /// The list of `values` (every line of the header); `None` when there is none.
    pub(crate) fn from_values<'v>(values: impl Iterator<Item = &'v HeaderValue>) -> Option<Self> {
        let mut lines = Vec::new();
        for value in values {
            if value.as_bytes().trim_ascii() == b"*" {
                return Some(Self::Any);
            }
            lines.push(value.clone());
        }
        (!lines.is_empty()).then_some(Self::Tags(lines))
    }

    /// Whether any well-formed tag of the list satisfies `matches`. Malformed members
    /// are skipped: they match nothing (so a garbled `If-Match` fails, and a garbled
    /// `If-None-Match` lets the request through).
    pub(crate) fn any(&self, mut matches: impl FnMut(Tag<'_>) -> bool) -> bool {
        let Self::Tags(lines) = self else {
            return false;
        };
        lines.iter().any(|line| {
            let mut rest = line.as_bytes();
            loop {
                rest = skip_separators(rest);
                if rest.is_empty() {
                    return false;
                }
                match next_tag(rest) {
                    Some((tag, after)) => {
                        if matches(tag) {
                            return true;
                        }
                        rest = after;
                    }
                    // Not a tag: resume after the next comma.
                    None => match rest.iter().position(|&byte| byte == b',') {
                        Some(comma) => rest = &rest[comma + 1..],
                        None => return false,
                    },
                }
            }
        })
    }
}

fn skip_separators(input: &[u8]) -> &[u8] {
    let start = input
        .iter()
        .position(|&byte| !matches!(byte, b' ' | b'\t' | b','))
        .unwrap_or(input.len());
    &input[start..]
}

/// The tag of a body: XXH3-128 of its bytes, in base64url (22 characters), quoted.
/// A 128-bit hash makes two different bodies with the same tag vanishingly unlikely,
/// which is what a strong tag promises.
pub(crate) fn hashed(body: &[u8], weak: bool) -> HeaderValue {
    let digest = xxhash_rust::xxh3::xxh3_128(body).to_be_bytes();
    let mut text = String::with_capacity(26);
    if weak {
        text.push_str("W/");
    }
    text.push('"');
    text.push_str(&BASE64URL_NOPAD.encode(&digest));
    text.push('"');
    HeaderValue::try_from(text).expect("base64url in quotes is a valid header value")
}

/// `"x"` → `W/"x"` (a tag already weak is returned as it is).
pub(crate) fn weakened(tag: &HeaderValue) -> HeaderValue {
    if tag.as_bytes().starts_with(b"W/") {
        return tag.clone();
    }
    let mut weak = Vec::with_capacity(tag.len() + 2);
    weak.extend_from_slice(b"W/");
    weak.extend_from_slice(tag.as_bytes());
    HeaderValue::from_bytes(&weak).unwrap_or_else(|_| tag.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(lines: &[&'static str]) -> TagList {
        let values: Vec<HeaderValue> = lines.iter().map(|l| HeaderValue::from_static(l)).collect();
        TagList::from_values(values.iter()).unwrap()
    }

    fn listed(list: &TagList) -> Vec<(bool, String)> {
        let mut seen = Vec::new();
        list.any(|tag| {
            seen.push((tag.weak, String::from_utf8(tag.opaque.to_vec()).unwrap()));
            false
        });
        seen
    }

    #[test]
    fn parses_lists_over_lines_with_commas_inside_tags_and_junk_between() {
        let parsed = list(&[r#""a", W/"b" ,"c,d""#, r#"junk, "e""#, r#"W/"""#]);
        assert_eq!(
            listed(&parsed),
            vec![
                (false, "a".into()),
                (true, "b".into()),
                (false, "c,d".into()),
                (false, "e".into()),
                (true, String::new()),
            ]
        );
        assert!(matches!(list(&[" * "]), TagList::Any));
        assert!(listed(&list(&["unquoted"])).is_empty());
        assert!(listed(&list(&[r#""unterminated"#])).is_empty());
    }

    #[test]
    fn strong_and_weak_comparison_follow_rfc_9110() {
        // RFC 9110, 8.8.3.2, the table of examples.
        let one = |s: &'static str| Tag::parse(s.as_bytes()).unwrap();
        assert!(!one(r#"W/"1""#).strong_eq(one(r#"W/"1""#)));
        assert!(one(r#"W/"1""#).weak_eq(one(r#"W/"1""#)));
        assert!(!one(r#"W/"1""#).weak_eq(one(r#"W/"2""#)));
        assert!(!one(r#"W/"1""#).strong_eq(one(r#""1""#)));
        assert!(one(r#"W/"1""#).weak_eq(one(r#""1""#)));
        assert!(one(r#""1""#).strong_eq(one(r#""1""#)));
        assert!(Tag::parse(br#""1" "2""#).is_none());
        assert!(Tag::parse(b"1").is_none());
    }

    #[test]
    fn hashed_tags_are_stable_quoted_and_weak_on_request() {
        let tag = hashed(b"hello", false);
        assert_eq!(tag, hashed(b"hello", false));
        assert_ne!(tag, hashed(b"hello!", false));
        assert_eq!(tag.len(), 24);
        assert!(Tag::parse(tag.as_bytes()).is_some_and(|t| !t.weak));
        let weak = hashed(b"hello", true);
        assert_eq!(weak, weakened(&tag));
        assert_eq!(weakened(&weak), weak);
    }
}
