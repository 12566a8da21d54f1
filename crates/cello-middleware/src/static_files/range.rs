//! `Range: bytes=...` (RFC 9110, 14.2), one range at a time.
//!
//! Several ranges (rare, and costly as `multipart/byteranges`) get the whole file with
//! a 200, which the RFC allows (a server may ignore `Range`); so do malformed headers
//! and units other than bytes, as the RFC asks.

use http::header::RANGE;
use http::HeaderMap;

/// What to send of a body of known length.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wanted {
    Whole,
    /// Bytes `start..=end`.
    Part {
        start: u64,
        end: u64,
    },
    /// A range that starts past the end: 416.
    Unsatisfiable,
}

/// The range `headers` ask for, of a body of `length` bytes.
pub(crate) fn wanted(headers: &HeaderMap, length: u64) -> Wanted {
    let mut lines = headers.get_all(RANGE).iter();
    let (Some(line), None) = (lines.next(), lines.next()) else {
        return Wanted::Whole;
    };
    let Some(spec) = line.to_str().ok().and_then(bytes_spec) else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Wanted::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let last_byte = length.checked_sub(1);
    let range = match (number(first), number(last)) {
        // bytes=-500: the last 500 bytes
        (None, Some(suffix)) if first.is_empty() => {
            if suffix == 0 || length == 0 {
                return Wanted::Unsatisfiable;
            }
            (length.saturating_sub(suffix), length - 1)
        }
        // bytes=100-: from byte 100 to the end
        (Some(start), None) if last.is_empty() => (start, last_byte.unwrap_or(0)),
        (Some(start), Some(end)) if start <= end => (start, end.min(last_byte.unwrap_or(0))),
        _ => return Wanted::Whole,
    };
    match range {
        (start, _) if start >= length => Wanted::Unsatisfiable,
        (start, end) => Wanted::Part { start, end },
    }
}

/// `bytes=<spec>`, the unit compared without regard to case.
fn bytes_spec(value: &str) -> Option<&str> {
    let (unit, spec) = value.trim().split_once('=')?;
    unit.trim()
        .eq_ignore_ascii_case("bytes")
        .then_some(spec.trim())
}

/// Digits only (`u64::from_str` would take a `+`).
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn of(range: &'static str, length: u64) -> Wanted {
        let mut headers = HeaderMap::new();
        headers.insert(RANGE, HeaderValue::from_static(range));
        wanted(&headers, length)
    }

    #[test]
    fn single_ranges_suffixes_and_open_ends() {
        use Wanted::*;
        let cases: &[(&'static str, u64, Wanted)] = &[
            ("bytes=0-9", 100, Part { start: 0, end: 9 }),
            ("bytes=90-", 100, Part { start: 90, end: 99 }),
            ("bytes=-10", 100, Part { start: 90, end: 99 }),
            ("bytes=-1000", 100, Part { start: 0, end: 99 }),
            ("bytes=50-5000", 100, Part { start: 50, end: 99 }),
            ("bytes=99-99", 100, Part { start: 99, end: 99 }),
            ("Bytes = 0 - 0", 100, Part { start: 0, end: 0 }),
            ("bytes=100-", 100, Unsatisfiable),
            ("bytes=100-200", 100, Unsatisfiable),
            ("bytes=-0", 100, Unsatisfiable),
            ("bytes=0-0", 0, Unsatisfiable),
            ("bytes=-5", 0, Unsatisfiable),
            ("bytes=0-1,5-6", 100, Whole),
            ("bytes=9-1", 100, Whole),
            ("bytes=+1-2", 100, Whole),
            ("bytes=a-b", 100, Whole),
            ("bytes=-", 100, Whole),
            ("bytes=5", 100, Whole),
            ("items=0-1", 100, Whole),
            ("bytes=18446744073709551616-", 100, Whole),
        ];
        for (header, length, expected) in cases {
            assert_eq!(&of(header, *length), expected, "{header} of {length}");
        }
    }

    #[test]
    fn no_range_or_two_range_headers_mean_the_whole_body() {
        let mut headers = HeaderMap::new();
        assert_eq!(wanted(&headers, 10), Wanted::Whole);
        headers.append(RANGE, HeaderValue::from_static("bytes=0-1"));
        headers.append(RANGE, HeaderValue::from_static("bytes=2-3"));
        assert_eq!(wanted(&headers, 10), Wanted::Whole);
    }
}
