//! One file's answer: the variant (precompressed or not), validators, 304/412, range,
//! and the streamed body.

use std::ffi::OsString;
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use cello_http::{problem_response, FileBody, Request, Response, ResponseBody};
use http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE,
    ETAG, IF_RANGE, LAST_MODIFIED, RANGE,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use tokio::io::AsyncSeekExt;

use super::encoding::{self, Coding};
use super::range::{self, Wanted};
use super::{Found, StaticFiles};
use crate::etag::{
    not_modified, precondition_failed, whole_seconds, Outcome, Preconditions, Representation, Tag,
};
use crate::vary::add_vary;

/// The file sent: the one asked for, or its precompressed sibling.
struct Variant {
    path: PathBuf,
    length: u64,
    modified: Option<SystemTime>,
    coding: Option<Coding>,
}

/// The answer for the file `path` (resolved), asked for as `requested` (whose name
/// gives the content type and the siblings' names). `None`: the file vanished or
/// cannot be read; the request falls through to the app.
pub(super) async fn file(
    layer: &StaticFiles,
    request: &Request,
    requested: &Path,
    path: &Path,
    metadata: &std::fs::Metadata,
) -> Option<Response> {
    let headers = request.headers();
    let head = request.method() == Method::HEAD;
    // Ranges are defined for GET only (RFC 9110, 14.2); HEAD ignores them.
    let ranged = !head && headers.contains_key(RANGE);
    let mut variant = Variant {
        path: path.to_owned(),
        length: metadata.len(),
        modified: metadata.modified().ok(),
        coding: None,
    };
    if layer.precompressed && !ranged {
        for coding in encoding::accepted(headers) {
            if let Some(Found::File { path, metadata }) =
                layer.find(&sibling(requested, coding)).await
            {
                variant = Variant {
                    path,
                    length: metadata.len(),
                    modified: metadata.modified().ok(),
                    coding: Some(coding),
                };
                break;
            }
        }
    }
    let etag = layer
        .etag
        .then(|| etag_of(variant.length, variant.modified));
    let last_modified = variant.modified.filter(|_| layer.last_modified);

    let mut response = Response::new(ResponseBody::Empty);
    let out = response.headers_mut();
    out.insert(CONTENT_TYPE, content_type(requested));
    if let Some(tag) = &etag {
        out.insert(ETAG, tag.clone());
    }
    if let Some(time) = last_modified {
        if let Ok(date) = HeaderValue::try_from(httpdate::fmt_http_date(time)) {
            out.insert(LAST_MODIFIED, date);
        }
    }
    if let Some(cache_control) = &layer.cache_control {
        out.insert(CACHE_CONTROL, cache_control.clone());
    }
    if layer.precompressed {
        add_vary(out, "Accept-Encoding");
    }
    match variant.coding {
        Some(coding) => {
            out.insert(CONTENT_ENCODING, HeaderValue::from_static(coding.token()));
        }
        None => {
            out.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        }
    }

    if let Some(preconditions) = Preconditions::from_headers(headers) {
        let current = Representation {
            etag: etag.as_ref(),
            last_modified,
        };
        match preconditions.evaluate(request.method(), Some(current)) {
            Outcome::Proceed => {}
            Outcome::NotModified => return Some(not_modified(&response, &preconditions)),
            Outcome::PreconditionFailed => return Some(precondition_failed()),
        }
    }

    let length = variant.length;
    let wanted = if ranged && if_range_holds(headers, etag.as_ref(), last_modified) {
        range::wanted(headers, length)
    } else {
        Wanted::Whole
    };
    match wanted {
        Wanted::Whole => {
            response
                .headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(length));
            if !head && length > 0 {
                *response.body_mut() = match open(&variant.path, 0, length).await {
                    Ok(body) => body,
                    Err(error) => return unreadable(&error),
                };
            }
        }
        Wanted::Part { start, end } => {
            let size = end - start + 1;
            *response.body_mut() = match open(&variant.path, start, size).await {
                Ok(body) => body,
                Err(error) => return unreadable(&error),
            };
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            let out = response.headers_mut();
            out.insert(CONTENT_LENGTH, HeaderValue::from(size));
            out.insert(
                CONTENT_RANGE,
                header(&format!("bytes {start}-{end}/{length}")),
            );
        }
        Wanted::Unsatisfiable => {
            let mut refused = problem_response(
                StatusCode::RANGE_NOT_SATISFIABLE,
                &format!("the requested range is outside the file ({length} bytes)"),
            );
            let out = refused.headers_mut();
            out.insert(CONTENT_RANGE, header(&format!("bytes */{length}")));
            out.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            return Some(refused);
        }
    }
    Some(response)
}

/// `If-Range` (RFC 9110, 13.1.5): the range is sent only while the client's copy is
/// current: a strong tag equal to ours, or a date equal to our `Last-Modified`.
/// Anything else (a weak tag, garbage) sends the whole file.
fn if_range_holds(
    headers: &HeaderMap,
    etag: Option<&HeaderValue>,
    last_modified: Option<SystemTime>,
) -> bool {
    let Some(value) = headers.get(IF_RANGE) else {
        return true;
    };
    if let Some(theirs) = Tag::parse(value.as_bytes()) {
        return etag
            .and_then(|ours| Tag::parse(ours.as_bytes()))
            .is_some_and(|ours| ours.strong_eq(theirs));
    }
    let date = value
        .to_str()
        .ok()
        .and_then(|text| httpdate::parse_http_date(text).ok());
    match (date, last_modified) {
        (Some(date), Some(modified)) => whole_seconds(modified) == date,
        _ => false,
    }
}

/// Strong: the length and the modification time in nanoseconds. Two versions of a
/// file with the same length written within the same nanosecond tick would share a
/// tag; file systems without sub-second times (FAT, some network mounts) make that
/// "the same second": there, enable only weak validators (a proxy's own), or none.
fn etag_of(length: u64, modified: Option<SystemTime>) -> HeaderValue {
    let nanos = modified
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |age| age.as_nanos());
    header(&format!("\"{length:x}-{nanos:x}\""))
}

/// From the extension of the name asked for (a symlink's target may have none);
/// text is declared UTF-8, as Starlette does.
fn content_type(requested: &Path) -> HeaderValue {
    let guess = mime_guess::from_path(requested).first_or_octet_stream();
    let text = if guess.type_().as_str() == "text" && guess.get_param("charset").is_none() {
        format!("{}; charset=utf-8", guess.essence_str())
    } else {
        guess.essence_str().to_owned()
    };
    HeaderValue::try_from(text).unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

/// `app.js` → `app.js.br`.
fn sibling(requested: &Path, coding: Coding) -> PathBuf {
    let mut name = OsString::from(requested.as_os_str());
    name.push(".");
    name.push(coding.extension());
    PathBuf::from(name)
}

async fn open(path: &Path, start: u64, length: u64) -> std::io::Result<ResponseBody> {
    let mut file = tokio::fs::File::open(path).await?;
    if start > 0 {
        file.seek(SeekFrom::Start(start)).await?;
    }
    Ok(ResponseBody::stream(FileBody::new(file, length)))
}

/// A file that vanished or may not be read falls through, as if it were not there; any
/// other failure (a disk error) is the server's, and says nothing of the path.
fn unreadable(error: &std::io::Error) -> Option<Response> {
    match error.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => None,
        _ => Some(problem_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the file could not be read",
        )),
    }
}

/// Made from digits, hex and ASCII punctuation only: always a valid value.
fn header(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("an ASCII header value")
}
