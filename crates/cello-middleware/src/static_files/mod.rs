//! Static files: GET and HEAD under a prefix are answered from a directory, in
//! `before`, so the app's handlers and the layers inside this one (compression, ETag)
//! never see them; the layers outside (request id, CORS, security headers, rate
//! limit) still add their headers.
//!
//! - A path that names nothing in the root (missing, unreadable, a symlink that leads
//!   out of the root, a directory with neither index file nor listing) *falls
//!   through* to the app: routes under the prefix keep working, and the app's own 404
//!   answers the rest (tower-http's `ServeDir` with a fallback; Starlette 404s).
//! - A path that tries to leave the root (`..`, `%2e%2e`, double encoding, `//`,
//!   backslashes, NUL, drive letters) or names a hidden file (`.env`, `.git/`) is
//!   answered 404 by the layer, whatever the disk holds ([`path`]).
//! - Other methods on an existing file or directory: 405 with `Allow: GET, HEAD`.
//! - A directory's URL without its slash is redirected (307, query kept) to the URL
//!   with it, as tower-http does, so that relative links in its index resolve; with
//!   the slash, `index_file` is served, or a listing when `directory_listing` is on.
//! - Files are streamed in 64 KiB chunks ([`cello_http::FileBody`]), with `ETag`
//!   (strong: size and modification time in nanoseconds), `Last-Modified`,
//!   `Content-Type` from the extension, `Cache-Control` when configured; `304` for
//!   `If-None-Match` / `If-Modified-Since`, `412` for `If-Match` /
//!   `If-Unmodified-Since`; one `Range` → 206 (`If-Range` honoured), unsatisfiable →
//!   416, several → the whole file.
//! - `name.br`, `name.zst`, `name.gz` beside `name` are sent instead, with
//!   `Content-Encoding`, to clients that accept the coding (never for a range
//!   request); responses then carry `Vary: Accept-Encoding`.

mod config;
mod encoding;
mod listing;
mod path;
mod range;
mod serve;

use std::fs::Metadata;
use std::path::{Path, PathBuf};

use cello_http::{problem_response, Request, Response, ResponseBody};
use http::header::{ALLOW, LOCATION};
use http::{HeaderValue, Method, StatusCode, Uri};

use crate::chain::Exchange;
use crate::error::ConfigError;
pub use config::StaticFilesConfig;

/// The static files layer.
#[derive(Debug)]
pub struct StaticFiles {
    /// Canonical (symlinks resolved), so that resolved paths can be checked against it.
    root: PathBuf,
    /// Without its trailing slash; empty for `/`.
    prefix: Box<str>,
    index_file: Option<Box<str>>,
    etag: bool,
    last_modified: bool,
    cache_control: Option<HeaderValue>,
    listing: bool,
    precompressed: bool,
}

/// What a path names inside the root, symlinks resolved.
enum Found {
    File { path: PathBuf, metadata: Metadata },
    Directory { path: PathBuf },
}

impl StaticFiles {
    /// Checks `config`: the root must be an existing directory, the prefix a URL path.
    pub fn new(config: &StaticFilesConfig) -> Result<Self, ConfigError> {
        let checked = config.check()?;
        Ok(Self {
            root: checked.root,
            prefix: checked.prefix,
            index_file: checked.index_file,
            etag: config.enable_etag,
            last_modified: config.enable_last_modified,
            cache_control: checked.cache_control,
            listing: config.directory_listing,
            precompressed: config.precompressed,
        })
    }

    /// The URL prefix served, without its trailing slash (`""` for `/`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The part of `path` under the prefix (empty, or starting with `/`).
    fn under_prefix<'p>(&self, path: &'p str) -> Option<&'p str> {
        let rest = path.strip_prefix(&*self.prefix)?;
        (rest.is_empty() || rest.starts_with('/')).then_some(rest)
    }

    /// What `path` names, if anything, once symlinks are resolved and only if that is
    /// still inside the root.
    async fn find(&self, path: &Path) -> Option<Found> {
        let resolved = tokio::fs::canonicalize(path).await.ok()?;
        if !resolved.starts_with(&self.root) {
            return None;
        }
        let metadata = tokio::fs::metadata(&resolved).await.ok()?;
        if metadata.is_file() {
            Some(Found::File {
                path: resolved,
                metadata,
            })
        } else if metadata.is_dir() {
            Some(Found::Directory { path: resolved })
        } else {
            None // sockets, FIFOs, devices: never opened
        }
    }

    pub(crate) async fn before(
        &self,
        request: &mut Request,
        _exchange: &mut Exchange,
    ) -> Option<Response> {
        let rest = self.under_prefix(request.uri().path())?;
        let Ok(target) = path::resolve(rest) else {
            return Some(problem_response(
                StatusCode::NOT_FOUND,
                "nothing is served at this path",
            ));
        };
        let requested = self.root.join(&target.relative);
        let found = self.find(&requested).await?;
        let method = request.method();
        if method != Method::GET && method != Method::HEAD {
            let mut response = problem_response(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("{method} is not allowed on a static file; allowed: GET, HEAD"),
            );
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return Some(response);
        }
        match found {
            // `file.txt/` names no directory
            Found::File { .. } if target.directory => None,
            Found::File { path, metadata } => {
                serve::file(self, request, &requested, &path, &metadata).await
            }
            Found::Directory { .. } if !target.directory => {
                Some(redirect_to_directory(request.uri()))
            }
            Found::Directory { path } => {
                if let Some(index) = &self.index_file {
                    let requested = path.join(&**index);
                    if let Some(Found::File { path, metadata }) = self.find(&requested).await {
                        return serve::file(self, request, &requested, &path, &metadata).await;
                    }
                }
                if self.listing {
                    let head = request.method() == Method::HEAD;
                    return Some(listing::page(self, head, &target, &path).await);
                }
                None
            }
        }
    }
}

/// 307 to the same URL with a slash after the path (the query kept).
fn redirect_to_directory(uri: &Uri) -> Response {
    let mut location = String::with_capacity(uri.path().len() + 1);
    location.push_str(uri.path());
    location.push('/');
    if let Some(query) = uri.query() {
        location.push('?');
        location.push_str(query);
    }
    let mut response = Response::new(ResponseBody::Empty);
    *response.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    // The path came from a parsed URI, so it is a valid header value.
    if let Ok(location) = HeaderValue::try_from(location) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

#[cfg(test)]
mod tests;
