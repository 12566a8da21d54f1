//! Static files options, and the checks made once at start-up.

use std::path::PathBuf;

use http::HeaderValue;

use crate::error::{header_value, ConfigError};

/// Static files options. The original's signature: `StaticFilesConfig(root,
/// prefix="/static", index_file="index.html", enable_etag=True,
/// enable_last_modified=True, cache_control=None, directory_listing=False)`.
#[derive(Clone, Debug)]
pub struct StaticFilesConfig {
    /// The directory served (its docs also call it `directory`). It must exist when
    /// the app starts; symlinks inside it are followed only while they stay inside it.
    pub root: PathBuf,
    /// The URL path the files are served under: `/static` serves `root/app.css` at
    /// `/static/app.css`; `/` serves the whole site from `root`.
    pub prefix: String,
    /// The file served for a directory's URL (`/static/docs/` → `docs/index.html`);
    /// `None`: none.
    pub index_file: Option<String>,
    /// Send `ETag` (strong, from the file's size and modification time) and answer
    /// `If-None-Match` / `If-Range` with it.
    pub enable_etag: bool,
    /// Send `Last-Modified` and answer `If-Modified-Since` / date `If-Range`s.
    pub enable_last_modified: bool,
    /// `Cache-Control` for files (`public, max-age=3600`; see
    /// [`StaticFilesConfig::cache_max_age`]); `None`: none is sent.
    pub cache_control: Option<String>,
    /// Answer a directory without an index file with an HTML list of its files.
    pub directory_listing: bool,
    /// Serve `name.br`, `name.zst` or `name.gz` beside `name`, when the client
    /// accepts that coding (never for range requests).
    pub precompressed: bool,
}

impl StaticFilesConfig {
    /// `root` served under `/static`, with the original's defaults.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            prefix: "/static".into(),
            index_file: Some("index.html".into()),
            enable_etag: true,
            enable_last_modified: true,
            cache_control: None,
            directory_listing: false,
            precompressed: true,
        }
    }

    /// `Cache-Control: public, max-age=<seconds>` (the docs' `cache_max_age`).
    #[must_use]
    pub fn cache_max_age(mut self, seconds: u64) -> Self {
        self.cache_control = Some(format!("public, max-age={seconds}"));
        self
    }
}

/// The checked options.
pub(super) struct Checked {
    pub(super) root: PathBuf,
    pub(super) prefix: Box<str>,
    pub(super) index_file: Option<Box<str>>,
    pub(super) cache_control: Option<HeaderValue>,
}

impl StaticFilesConfig {
    /// Resolves the root (once, at start-up: blocking is fine here) and checks the rest.
    pub(super) fn check(&self) -> Result<Checked, ConfigError> {
        let root = std::fs::canonicalize(&self.root).map_err(|error| {
            ConfigError::invalid(format!(
                "static files root {:?} cannot be used ({error}): create the directory or \
                 give the path of an existing one",
                self.root
            ))
        })?;
        if !root.is_dir() {
            return Err(ConfigError::invalid(format!(
                "static files root {:?} is not a directory: give the directory to serve",
                self.root
            )));
        }
        Ok(Checked {
            root,
            prefix: check_prefix(&self.prefix)?,
            index_file: self.index_file.as_deref().map(check_index).transpose()?,
            cache_control: self
                .cache_control
                .as_deref()
                .map(|value| header_value("static files cache_control", value))
                .transpose()?,
        })
    }
}

/// `/static/` → `/static`; `/` → `` (everything).
fn check_prefix(prefix: &str) -> Result<Box<str>, ConfigError> {
    let refuse = |why: &str| {
        ConfigError::invalid(format!(
            "static files prefix {prefix:?} {why}: give a URL path such as \"/static\""
        ))
    };
    if !prefix.starts_with('/') {
        return Err(refuse("must start with \"/\""));
    }
    let trimmed = prefix.trim_end_matches('/');
    if trimmed.contains("//") {
        return Err(refuse("has an empty segment (\"//\")"));
    }
    if trimmed
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err(refuse("has a \".\" or \"..\" segment"));
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || "/-._~!$&'()*+,;=:@".contains(c);
    if !trimmed.chars().all(plain) {
        return Err(refuse(
            "may hold only unreserved URL characters (no %-escapes, spaces, ? or #)",
        ));
    }
    Ok(trimmed.into())
}

fn check_index(name: &str) -> Result<Box<str>, ConfigError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(ConfigError::invalid(format!(
            "static files index_file {name:?} must be a file name such as \"index.html\" \
             (no directories), or None for no index file"
        )));
    }
    Ok(name.into())
}
