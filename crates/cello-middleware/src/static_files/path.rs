//! From the URL path under the prefix to a path relative to the root, refusing
//! anything that could name a file outside it.
//!
//! The path is percent-decoded exactly once. Then every segment must be a plain
//! file name: not empty (`//`, or an absolute path smuggled in as `%2f`), not `.` or
//! `..`, not hidden (`.env`, `.git`; `.well-known` is allowed), without a backslash,
//! a NUL or another control character, a colon (Windows drive letters, NTFS streams)
//! or a `%XX` escape left after the one decoding (`%252e%252e` is `..` encoded twice:
//! whoever decodes it again would climb out). The root is joined segment by segment,
//! so no segment can replace it. Symlinks are checked later, on the resolved path.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

use percent_encoding::percent_decode_str;

/// A path that names something the layer will not serve (answered 404).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refused;

/// A path to look up under the root.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// Relative to the root; empty for the root itself.
    pub(crate) relative: PathBuf,
    /// The URL ended with `/` (a directory's URL).
    pub(crate) directory: bool,
    /// The decoded path under the prefix, for the titles of listings.
    pub(crate) decoded: String,
}

/// Resolves `rest`, the raw (still percent-encoded) URL path after the prefix: empty,
/// or starting with `/`.
pub(crate) fn resolve(rest: &str) -> Result<Target, Refused> {
    let decoded: Cow<'_, str> = percent_decode_str(rest)
        .decode_utf8()
        .map_err(|_| Refused)?;
    let trimmed = decoded.strip_prefix('/').unwrap_or(&decoded);
    if trimmed.starts_with('/') {
        return Err(Refused);
    }
    let directory = decoded.ends_with('/');
    let body = trimmed.strip_suffix('/').unwrap_or(trimmed);
    let mut relative = PathBuf::new();
    if !body.is_empty() {
        for segment in body.split('/') {
            if !segment_allowed(segment) {
                return Err(Refused);
            }
            relative.push(segment);
        }
    }
    Ok(Target {
        relative,
        directory,
        decoded: decoded.into_owned(),
    })
}

/// Whether `segment` (decoded) is a file name the layer serves; directory listings
/// show only such names.
pub(crate) fn segment_allowed(segment: &str) -> bool {
    if segment.is_empty() || (segment.starts_with('.') && segment != ".well-known") {
        return false;
    }
    if segment
        .chars()
        .any(|c| c.is_control() || c == '\\' || c == ':')
    {
        return false;
    }
    if has_escape(segment.as_bytes()) {
        return false;
    }
    // Belt and braces: the platform must see one plain name.
    let mut components = Path::new(segment).components();
    matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(_)), None)
    )
}

/// `%` followed by two hex digits.
fn has_escape(bytes: &[u8]) -> bool {
    bytes.windows(3).any(|window| {
        window[0] == b'%' && window[1].is_ascii_hexdigit() && window[2].is_ascii_hexdigit()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traversal_corpus_is_refused() {
        let corpus = [
            "/../etc/passwd",
            "/a/../../etc/passwd",
            "/..",
            "/./a",
            "/%2e%2e/etc/passwd",
            "/%2E%2E/etc/passwd",
            "/.%2e/etc/passwd",
            "/%2e./etc/passwd",
            "/%252e%252e/etc/passwd",
            "/%252E%252E%252Fetc%252Fpasswd",
            "/..%2fetc%2fpasswd",
            "/..%5cetc%5cpasswd",
            "/%5c..%5c..%5cwindows",
            "/a\\..\\b",
            "/..\\..\\etc",
            "/a%00.txt",
            "/a\0b",
            "/%00",
            "//etc/passwd",
            "/%2fetc/passwd",
            "/%2Fetc%2Fpasswd",
            "/a//b",
            "/C:/Windows/win.ini",
            "/c%3a/windows",
            "/C:",
            "/file.txt::$DATA",
            "/.env",
            "/.git/config",
            "/a/.htpasswd",
            "/%2e%65nv",
            "/a%0d%0aSet-Cookie:x",
            "/%c0%ae%c0%ae/etc/passwd", // overlong UTF-8 dots: not UTF-8 at all
            "/%ff",
        ];
        for path in corpus {
            assert_eq!(resolve(path), Err(Refused), "{path:?} must be refused");
        }
    }

    #[test]
    fn plain_paths_are_joined_segment_by_segment() {
        let target = resolve("/css/site%20v2.css").unwrap();
        assert_eq!(target.relative, Path::new("css").join("site v2.css"));
        assert!(!target.directory);
        assert_eq!(target.decoded, "/css/site v2.css");
        assert_eq!(
            resolve("/docs/").unwrap(),
            Target {
                relative: PathBuf::from("docs"),
                directory: true,
                decoded: "/docs/".into(),
            }
        );
        let root = resolve("").unwrap();
        assert_eq!(
            (root.relative.as_os_str().is_empty(), root.directory),
            (true, false)
        );
        let root = resolve("/").unwrap();
        assert_eq!(
            (root.relative.as_os_str().is_empty(), root.directory),
            (true, true)
        );
        for fine in [
            "/.well-known/acme-challenge/abc",
            "/100%25.txt",
            "/a..b",
            "/..a",
            "/%E2%9C%93.txt",
            "/a;b=c",
        ] {
            let refused_only_if_hidden = fine == "/..a";
            assert_eq!(resolve(fine).is_err(), refused_only_if_hidden, "{fine:?}");
        }
    }
}
