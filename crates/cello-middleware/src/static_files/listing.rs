//! `directory_listing`: a minimal HTML page of a directory's entries, every name
//! escaped, links relative to the directory's URL (which ends with `/`).
//!
//! Only entries the layer would serve are listed: hidden names, names it refuses
//! ([`super::path::segment_allowed`]) and symlinks that lead out of the root are left
//! out. At most [`MAX_ENTRIES`] are read, so a huge directory costs a bounded amount.

use std::fmt::Write as _;
use std::path::Path;

use bytes::Bytes;
use cello_http::{Response, ResponseBody};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::HeaderValue;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::path::{segment_allowed, Target};
use super::{Found, StaticFiles};

pub(super) const MAX_ENTRIES: usize = 5_000;

/// Everything but the unreserved characters is escaped in a link.
const LINK: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The page for the directory `dir` (resolved), asked for as `target`.
pub(super) async fn page(layer: &StaticFiles, head: bool, target: &Target, dir: &Path) -> Response {
    let (entries, truncated) = entries(layer, dir).await;
    let title = escape(&format!("Index of {}{}", layer.prefix, target.decoded));
    let mut html = String::with_capacity(256 + entries.len() * 64);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body><h1>{title}</h1>\n<ul>\n"
    );
    if !target.relative.as_os_str().is_empty() {
        html.push_str("<li><a href=\"../\">../</a></li>\n");
    }
    for (name, directory) in &entries {
        let slash = if *directory { "/" } else { "" };
        let _ = writeln!(
            html,
            "<li><a href=\"{}{slash}\">{}{slash}</a></li>",
            utf8_percent_encode(name, LINK),
            escape(name)
        );
    }
    html.push_str("</ul>\n");
    if truncated {
        let _ = writeln!(
            html,
            "<p>Only the first {MAX_ENTRIES} entries are listed.</p>"
        );
    }
    html.push_str("</body></html>\n");

    let length = html.len();
    let mut response = Response::new(if head {
        ResponseBody::Empty
    } else {
        ResponseBody::full(Bytes::from(html))
    });
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    response
}

/// The listed entries, sorted by name, each with whether it is a directory; and
/// whether some were left unread.
async fn entries(layer: &StaticFiles, dir: &Path) -> (Vec<(String, bool)>, bool) {
    let mut listed = Vec::new();
    let Ok(mut reader) = tokio::fs::read_dir(dir).await else {
        return (listed, false);
    };
    let mut truncated = false;
    while let Ok(Some(entry)) = reader.next_entry().await {
        if listed.len() == MAX_ENTRIES {
            truncated = true;
            break;
        }
        let Ok(name) = entry.file_name().into_string() else {
            continue; // not UTF-8: no URL names it
        };
        if !segment_allowed(&name) {
            continue;
        }
        let Ok(kind) = entry.file_type().await else {
            continue;
        };
        // Entries of a resolved directory inside the root are inside it; only a
        // symlink needs resolving.
        let directory = if kind.is_symlink() {
            match layer.find(&entry.path()).await {
                Some(Found::Directory { .. }) => true,
                Some(Found::File { .. }) => false,
                None => continue,
            }
        } else if kind.is_dir() || kind.is_file() {
            kind.is_dir()
        } else {
            continue;
        };
        listed.push((name, directory));
    }
    listed.sort();
    (listed, truncated)
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}
