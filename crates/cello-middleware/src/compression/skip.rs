//! Which responses are sent as they are, whatever the client accepts.
//!
//! These rules look at the response alone, so a response they skip does not depend
//! on `Accept-Encoding` and gets no `Vary: Accept-Encoding`.

use cello_http::{Response, ResponseBody};
use http::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};
use http_body::Body;

/// Whether `response` could be compressed for a client that accepts a coding.
pub(crate) fn may_compress(response: &Response, min_size: usize) -> bool {
    let status = response.status();
    let headers = response.headers();
    !(status.is_informational()
        || status == StatusCode::NO_CONTENT
        // A range is a slice of the identity body; encoding it would send a slice of
        // nothing the client asked for.
        || status == StatusCode::PARTIAL_CONTENT
        || status == StatusCode::NOT_MODIFIED
        // Never encode twice: the handler compressed it, or serves a .gz file.
        || headers.contains_key(CONTENT_ENCODING)
        || headers.contains_key(CONTENT_RANGE)
        || no_transform(headers)
        || !compressible(headers)
        || too_small(response.body(), headers, min_size))
}

/// `Cache-Control: no-transform` forbids intermediaries to change the content; the
/// handler that set it means it for us too.
fn no_transform(headers: &HeaderMap) -> bool {
    headers.get_all(CACHE_CONTROL).iter().any(|value| {
        value.to_str().is_ok_and(|text| {
            text.split(',')
                .any(|directive| directive.trim().eq_ignore_ascii_case("no-transform"))
        })
    })
}

/// Bodies below `min_size`: exactly for in-memory bodies; for a stream, when its
/// length is known (an exact size hint or a `Content-Length`). A stream of unknown
/// length is compressed: it is usually long, or long-lived (events).
fn too_small(body: &ResponseBody, headers: &HeaderMap, min_size: usize) -> bool {
    let length = match body {
        ResponseBody::Empty => return true,
        ResponseBody::Full(bytes) => bytes.as_ref().map_or(0, |b| b.len() as u64),
        ResponseBody::Stream(stream) => {
            if stream.is_end_stream() {
                return true;
            }
            match stream
                .size_hint()
                .exact()
                .or_else(|| declared_length(headers))
            {
                Some(length) => length,
                None => return false,
            }
        }
    };
    length == 0 || length < min_size as u64
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// `application/` subtypes that are already compressed, or not worth it.
const INCOMPRESSIBLE_APPLICATION: &[&str] = &[
    // Arbitrary bytes: usually downloads, often already compressed, often fetched
    // again by range, which compression would break (it removes `Accept-Ranges`).
    "octet-stream",
    // Archives and compressed files.
    "zip",
    "gzip",
    "x-gzip",
    "zstd",
    "x-bzip2",
    "x-xz",
    "x-7z-compressed",
    "vnd.rar",
    "x-rar-compressed",
    "java-archive",
    // Fonts that compress themselves (WOFF with zlib, WOFF2 with brotli).
    "font-woff",
    "font-woff2",
    // PDF's streams are deflate-compressed already.
    "pdf",
    // Error documents: small, often echoing request input (see BREACH in the README),
    // and the request-id layer, which runs after this one, adds to them.
    "problem+json",
];

/// Whether the `Content-Type` is worth compressing. Text, JSON, XML, JavaScript,
/// SVG, WebAssembly and unknown types are; media, archives and gRPC are not.
fn compressible(headers: &HeaderMap) -> bool {
    // No type, or one we cannot read: compress, as most bodies are text.
    let Some(text) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let essence = text.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return true;
    };
    let is = |name: &str| subtype.eq_ignore_ascii_case(name);
    if kind.eq_ignore_ascii_case("image") {
        // SVG is XML text; every other image format is compressed already.
        return is("svg+xml");
    }
    if kind.eq_ignore_ascii_case("audio") || kind.eq_ignore_ascii_case("video") {
        return false;
    }
    if kind.eq_ignore_ascii_case("font") {
        // TrueType and OpenType compress well; WOFF and WOFF2 are compressed already.
        return !(is("woff") || is("woff2"));
    }
    if kind.eq_ignore_ascii_case("application") {
        // gRPC has its own per-message compression; gRPC-Web is text-framed and
        // compresses like any body.
        let grpc = is("grpc") || starts_with_ignoring_case(subtype, "grpc+");
        let zip_container = ends_with_ignoring_case(subtype, "+zip")
            || starts_with_ignoring_case(subtype, "vnd.openxmlformats-officedocument.")
            || starts_with_ignoring_case(subtype, "vnd.oasis.opendocument.");
        return !(grpc || zip_container || INCOMPRESSIBLE_APPLICATION.iter().any(|n| is(n)));
    }
    true
}

fn starts_with_ignoring_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

fn ends_with_ignoring_case(text: &str, suffix: &str) -> bool {
    text.len() >= suffix.len()
        && text.as_bytes()[text.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}
