use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use http::StatusCode;
use tempfile::TempDir;

use super::{StaticFiles, StaticFilesConfig};
use crate::test_support::{chain, request, run, Outcome};
use crate::Chain;

mod conditional;

/// `public/` (the root) and, beside it, a secret that symlinks inside try to reach.
pub(super) struct Site {
    _dir: TempDir,
    pub(super) root: PathBuf,
}

pub(super) const HELLO: &str = "hello, world\n";
/// 2023-11-14 22:13:20 UTC and 123456789 ns.
pub(super) const MODIFIED_SECS: u64 = 1_700_000_000;
pub(super) const MODIFIED_DATE: &str = "Tue, 14 Nov 2023 22:13:20 GMT";

pub(super) fn write(path: &Path, content: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, content).unwrap();
}

pub(super) fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("public");
    write(&root.join("hello.txt"), HELLO);
    let modified = UNIX_EPOCH + Duration::new(MODIFIED_SECS, 123_456_789);
    let file = fs::File::options()
        .write(true)
        .open(root.join("hello.txt"))
        .unwrap();
    file.set_modified(modified).unwrap();
    write(&root.join("app.js"), "console.log('identity');\n");
    write(&root.join("app.js.br"), "BROTLI");
    write(&root.join("app.js.gz"), "GZIP");
    write(&root.join("sub/index.html"), "<h1>sub</h1>");
    write(&root.join("sub/page.html"), "<p>page</p>");
    fs::create_dir_all(root.join("empty")).unwrap();
    write(&root.join("list/a.txt"), "a");
    write(&root.join("list/<b>&.txt"), "b");
    write(&root.join("list/.hidden"), "h");
    fs::create_dir_all(root.join("list/c dir")).unwrap();
    write(&root.join(".env"), "SECRET=1");
    write(&root.join(".well-known/security.txt"), "Contact: x");
    write(&dir.path().join("secret.txt"), "TOP SECRET");
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        symlink(dir.path().join("secret.txt"), root.join("leak.txt")).unwrap();
        symlink(dir.path(), root.join("leakdir")).unwrap();
        symlink(dir.path().join("secret.txt"), root.join("list/leak.txt")).unwrap();
        symlink(root.join("hello.txt"), root.join("alias.txt")).unwrap();
    }
    Site { _dir: dir, root }
}

pub(super) fn config(site: &Site) -> StaticFilesConfig {
    StaticFilesConfig::new(&site.root)
}

pub(super) fn served(config: &StaticFilesConfig) -> Chain {
    chain(vec![StaticFiles::new(config).unwrap().into()])
}

pub(super) async fn get(
    chain: &Chain,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
) -> Outcome {
    run(
        chain,
        request(method, uri, headers),
        None,
        StatusCode::OK,
        "app",
    )
    .await
}

pub(super) fn header<'o>(out: &'o Outcome, name: &str) -> Option<&'o str> {
    out.headers.get(name).map(|value| value.to_str().unwrap())
}

pub(super) fn hello_etag() -> String {
    format!(
        "\"{:x}-{:x}\"",
        HELLO.len(),
        u128::from(MODIFIED_SECS) * 1_000_000_000 + 123_456_789
    )
}

#[tokio::test]
async fn serves_a_file_with_its_validators_and_head_the_same_headers() {
    let site = site();
    let chain = served(&config(&site));
    let out = get(&chain, "GET", "/static/hello.txt", &[]).await;
    assert!(!out.called);
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.body, HELLO);
    assert_eq!(
        header(&out, "content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(header(&out, "content-length"), Some("13"));
    assert_eq!(header(&out, "etag"), Some(hello_etag().as_str()));
    assert_eq!(header(&out, "last-modified"), Some(MODIFIED_DATE));
    assert_eq!(header(&out, "accept-ranges"), Some("bytes"));
    assert_eq!(header(&out, "vary"), Some("Accept-Encoding"));
    assert!(out.headers.get("cache-control").is_none());
    let head = get(&chain, "HEAD", "/static/hello.txt", &[]).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(head.headers, out.headers);
}

#[tokio::test]
async fn what_is_not_there_falls_through_to_the_app() {
    let site = site();
    let chain = served(&config(&site));
    for uri in [
        "/static/missing.txt",
        "/static/sub/missing/",
        "/static/empty/",     // no index file, no listing
        "/static/hello.txt/", // a file's name as a directory
        "/staticky/hello.txt",
        "/other",
        "/",
    ] {
        let out = get(&chain, "GET", uri, &[]).await;
        assert!(out.called, "{uri} should reach the app");
        assert_eq!(out.body, "app");
    }
    let post = get(&chain, "POST", "/static/upload", &[]).await;
    assert!(post.called, "routes under the prefix still work");
}

#[tokio::test]
async fn traversal_and_hidden_files_are_404_whatever_the_disk_holds() {
    let site = site();
    let chain = served(&config(&site));
    let corpus = [
        "/static/../secret.txt",
        "/static/sub/../../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/secret.txt",
        "/static/.%2e/secret.txt",
        "/static/%252e%252e/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/..%5csecret.txt",
        "/static/%5c..%5csecret.txt",
        "/static/hello.txt%00.png",
        "/static//etc/passwd",
        "/static/%2fetc/passwd",
        "/static/C:/Windows/win.ini",
        "/static/c%3a%5cwindows",
        "/static/.env",
        "/static/%2eenv",
        "/static/sub/.git/config",
        "/static/%ff",
    ];
    for uri in corpus {
        let out = get(&chain, "GET", uri, &[]).await;
        assert!(!out.called, "{uri} reached the app");
        assert_eq!(out.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(
            header(&out, "content-type"),
            Some("application/problem+json")
        );
        assert!(!String::from_utf8_lossy(&out.body).contains("SECRET"));
    }
    let well_known = get(&chain, "GET", "/static/.well-known/security.txt", &[]).await;
    assert_eq!(well_known.body, "Contact: x");
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_are_followed_only_inside_the_root() {
    let site = site();
    let chain = served(&config(&site));
    for uri in [
        "/static/leak.txt",
        "/static/leakdir/secret.txt",
        "/static/list/leak.txt",
    ] {
        let out = get(&chain, "GET", uri, &[]).await;
        assert!(out.called, "{uri}: outside the root is not there");
        assert_eq!(out.body, "app");
    }
    let inside = get(&chain, "GET", "/static/alias.txt", &[]).await;
    assert_eq!(inside.body, HELLO);
    assert_eq!(
        header(&inside, "content-type"),
        Some("text/plain; charset=utf-8")
    );
}

#[tokio::test]
async fn other_methods_on_a_file_are_405() {
    let site = site();
    let chain = served(&config(&site));
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let out = get(&chain, method, "/static/hello.txt", &[]).await;
        assert!(!out.called);
        assert_eq!(out.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(header(&out, "allow"), Some("GET, HEAD"));
    }
}

#[tokio::test]
async fn directories_redirect_to_their_slash_then_serve_the_index() {
    let site = site();
    let chain = served(&config(&site));
    for (uri, location) in [
        ("/static/sub", "/static/sub/"),
        ("/static/sub?v=1&w", "/static/sub/?v=1&w"),
        ("/static", "/static/"),
    ] {
        let out = get(&chain, "GET", uri, &[]).await;
        assert_eq!(out.status, StatusCode::TEMPORARY_REDIRECT, "{uri}");
        assert_eq!(header(&out, "location"), Some(location));
    }
    let index = get(&chain, "GET", "/static/sub/", &[]).await;
    assert_eq!(index.body, "<h1>sub</h1>");
    assert_eq!(
        header(&index, "content-type"),
        Some("text/html; charset=utf-8")
    );
    let no_index = StaticFilesConfig {
        index_file: None,
        ..config(&site)
    };
    let out = get(&served(&no_index), "GET", "/static/sub/", &[]).await;
    assert!(out.called);
}

#[tokio::test]
async fn directory_listing_escapes_names_and_hides_what_is_not_served() {
    let site = site();
    let listing = StaticFilesConfig {
        directory_listing: true,
        ..config(&site)
    };
    let chain = served(&listing);
    let out = get(&chain, "GET", "/static/list/", &[]).await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(
        header(&out, "content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = String::from_utf8(out.body.to_vec()).unwrap();
    assert!(
        html.contains("<title>Index of /static/list/</title>"),
        "{html}"
    );
    assert!(html.contains("<a href=\"../\">../</a>"));
    assert!(html.contains("<a href=\"a.txt\">a.txt</a>"));
    assert!(
        html.contains("<a href=\"%3Cb%3E%26.txt\">&lt;b&gt;&amp;.txt</a>"),
        "{html}"
    );
    assert!(html.contains("<a href=\"c%20dir/\">c dir/</a>"));
    assert!(!html.contains("hidden"));
    assert!(!html.contains("leak"));
    assert!(!html.contains("<b>"));
    let head = get(&chain, "HEAD", "/static/list/", &[]).await;
    assert!(head.body.is_empty());
    assert_eq!(
        head.headers["content-length"],
        out.body.len().to_string().as_str()
    );
    // An index file wins over the listing; the root has no "../".
    assert_eq!(
        get(&chain, "GET", "/static/sub/", &[]).await.body,
        "<h1>sub</h1>"
    );
    let root = get(&chain, "GET", "/static/", &[]).await;
    assert!(!String::from_utf8_lossy(&root.body).contains("../"));
}

#[tokio::test]
async fn validators_can_be_turned_off_and_the_site_mounted_at_the_root() {
    let site = site();
    let bare = StaticFilesConfig {
        prefix: "/".into(),
        enable_etag: false,
        enable_last_modified: false,
        ..config(&site)
    };
    let chain = served(&bare);
    let out = get(&chain, "GET", "/hello.txt", &[]).await;
    assert_eq!(out.body, HELLO);
    assert!(out.headers.get("etag").is_none());
    assert!(out.headers.get("last-modified").is_none());
    let conditional = get(&chain, "GET", "/hello.txt", &[("if-none-match", "*")]).await;
    assert_eq!(
        conditional.status,
        StatusCode::NOT_MODIFIED,
        "* matches any current file"
    );
    assert_eq!(get(&chain, "GET", "/sub/", &[]).await.body, "<h1>sub</h1>");
    assert!(get(&chain, "GET", "/api/users", &[]).await.called);
}

#[test]
fn bad_configurations_say_what_to_change() {
    let site = site();
    let message = |config: StaticFilesConfig| StaticFiles::new(&config).unwrap_err().to_string();
    let missing = message(StaticFilesConfig::new(site.root.join("nope")));
    assert!(missing.contains("create the directory"), "{missing}");
    let file = message(StaticFilesConfig::new(site.root.join("hello.txt")));
    assert!(file.contains("is not a directory"), "{file}");
    for prefix in ["static", "/a/../b", "/a//b", "/st atic", "/a%2e"] {
        let refused = message(StaticFilesConfig {
            prefix: prefix.into(),
            ..config(&site)
        });
        assert!(
            refused.contains("static files prefix"),
            "{prefix}: {refused}"
        );
    }
    let index = message(StaticFilesConfig {
        index_file: Some("a/index.html".into()),
        ..config(&site)
    });
    assert!(index.contains("index_file"), "{index}");
    let cache = message(StaticFilesConfig {
        cache_control: Some("max-age=1\r\nX: y".into()),
        ..config(&site)
    });
    assert!(cache.contains("cache_control"), "{cache}");
    let trailing = StaticFiles::new(&StaticFilesConfig {
        prefix: "/assets/".into(),
        ..config(&site)
    })
    .unwrap();
    assert_eq!(trailing.prefix(), "/assets");
}

#[tokio::test]
async fn an_empty_file_is_an_empty_200_and_any_range_of_it_416() {
    let site = site();
    write(&site.root.join("empty.txt"), "");
    let chain = served(&config(&site));
    let out = get(&chain, "GET", "/static/empty.txt", &[]).await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(header(&out, "content-length"), Some("0"));
    let ranged = get(&chain, "GET", "/static/empty.txt", &[("range", "bytes=0-")]).await;
    assert_eq!(ranged.status, StatusCode::RANGE_NOT_SATISFIABLE);
}
