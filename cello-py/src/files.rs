//! File responses: streamed from disk, with single-range requests (`Range`,
//! `If-Range`), validators (`ETag`, `Last-Modified` from Python) and 416s.

use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::time::UNIX_EPOCH;

use cello_http::{FileBody, Response, ResponseBody};
use http::header::{
    ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE,
};
use http::{HeaderMap, HeaderValue, StatusCode};
use pyo3::exceptions::PyFileNotFoundError;
use pyo3::PyResult;

/// A byte range to send, inclusive.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    Whole,
    Part { start: u64, end: u64 },
    Unsatisfiable,
}

/// Parses a `Range` header for a file of `length` bytes. Only one range is served:
/// several ranges (rare, and costly as multipart) get the whole file, which RFC 9110
/// allows. Malformed headers are ignored, as the RFC asks.
fn wanted(range: Option<&str>, length: u64) -> Wanted {
    let Some(spec) = range.and_then(|r| r.trim().strip_prefix("bytes=")) else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let parsed = match (first.is_empty(), last.is_empty()) {
        // bytes=-500: the last 500 bytes
        (true, false) => match last.parse::<u64>() {
            Ok(0) => return Wanted::Unsatisfiable,
            Ok(suffix) => Some((length.saturating_sub(suffix), length.saturating_sub(1))),
            Err(_) => None,
        },
        // bytes=100-: from 100 to the end
        (false, true) => first
            .parse::<u64>()
            .ok()
            .map(|start| (start, length.saturating_sub(1))),
        (false, false) => match (first.parse::<u64>(), last.parse::<u64>()) {
            (Ok(start), Ok(end)) if start <= end => {
                Some((start, end.min(length.saturating_sub(1))))
            }
            _ => None,
        },
        (true, true) => None,
    };
    match parsed {
        None => Wanted::Whole,
        Some((start, _)) if length == 0 || start >= length => Wanted::Unsatisfiable,
        Some((start, end)) => Wanted::Part { start, end },
    }
}

/// Builds the response for `path`; `request` headers decide whole, partial or 416.
/// `last_modified` is the value Python computed, compared with `If-Range` dates.
pub fn file_response(
    path: &Path,
    request: Option<&HeaderMap>,
    last_modified: Option<&str>,
) -> PyResult<Response> {
    let mut file = std::fs::File::open(path).map_err(|error| {
        PyFileNotFoundError::new_err(format!("cannot send file {}: {error}", path.display()))
    })?;
    let metadata = file.metadata()?;
    let length = metadata.len();
    let modified = metadata
        .modified()
        .ok()
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |age| age.as_secs());
    let etag = format!("\"{length:x}-{modified:x}\"");
    let header = |name| {
        request
            .and_then(|headers| headers.get(name))
            .and_then(|v| v.to_str().ok())
    };
    // If-Range: honour Range only while the client's copy is current.
    let range_allowed = match header(IF_RANGE) {
        None => true,
        Some(validator) => validator == etag || Some(validator) == last_modified,
    };
    let wanted = if range_allowed {
        wanted(header(RANGE), length)
    } else {
        Wanted::Whole
    };
    let mut response = match wanted {
        Wanted::Whole => {
            let mut response = Response::new(ResponseBody::stream(FileBody::new(
                tokio::fs::File::from_std(file),
                length,
            )));
            response
                .headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(length));
            response
        }
        Wanted::Part { start, end } => {
            file.seek(SeekFrom::Start(start))?;
            let size = end - start + 1;
            let mut response = Response::new(ResponseBody::stream(FileBody::new(
                tokio::fs::File::from_std(file),
                size,
            )));
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            let headers = response.headers_mut();
            headers.insert(CONTENT_LENGTH, HeaderValue::from(size));
            headers.insert(
                CONTENT_RANGE,
                header_value(&format!("bytes {start}-{end}/{length}")),
            );
            response
        }
        Wanted::Unsatisfiable => {
            let mut response = cello_http::problem_response(
                StatusCode::RANGE_NOT_SATISFIABLE,
                &format!("the requested range is outside the file ({length} bytes)"),
            );
            response
                .headers_mut()
                .insert(CONTENT_RANGE, header_value(&format!("bytes */{length}")));
            response
        }
    };
    let headers = response.headers_mut();
    headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(ETAG, header_value(&etag));
    if let Some(last_modified) = last_modified {
        headers.insert(LAST_MODIFIED, header_value(last_modified));
    }
    Ok(response)
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(wanted(None, 100), Wanted::Whole);
        assert_eq!(
            wanted(Some("bytes=0-9"), 100),
            Wanted::Part { start: 0, end: 9 }
        );
        assert_eq!(
            wanted(Some("bytes=90-"), 100),
            Wanted::Part { start: 90, end: 99 }
        );
        assert_eq!(
            wanted(Some("bytes=-10"), 100),
            Wanted::Part { start: 90, end: 99 }
        );
        assert_eq!(
            wanted(Some("bytes=-1000"), 100),
            Wanted::Part { start: 0, end: 99 }
        );
        assert_eq!(
            wanted(Some("bytes=50-5000"), 100),
            Wanted::Part { start: 50, end: 99 }
        );
        assert_eq!(wanted(Some("bytes=100-"), 100), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=-0"), 100), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=0-1,5-6"), 100), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=9-1"), 100), Wanted::Whole);
        assert_eq!(wanted(Some("items=0-1"), 100), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=0-0"), 0), Wanted::Unsatisfiable);
    }
}
