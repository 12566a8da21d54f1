//! Validators, conditional requests, ranges and precompressed siblings.

use http::StatusCode;

use super::{config, get, header, hello_etag, served, site, HELLO, MODIFIED_DATE};
use crate::static_files::StaticFilesConfig;

#[tokio::test]
async fn single_ranges_are_206_unsatisfiable_416_several_the_whole_file() {
    let site = site();
    let chain = served(&config(&site));
    let cases: &[(&str, StatusCode, &str, Option<&str>)] = &[
        (
            "bytes=0-4",
            StatusCode::PARTIAL_CONTENT,
            "hello",
            Some("bytes 0-4/13"),
        ),
        (
            "bytes=-6",
            StatusCode::PARTIAL_CONTENT,
            "world\n",
            Some("bytes 7-12/13"),
        ),
        (
            "bytes=7-",
            StatusCode::PARTIAL_CONTENT,
            "world\n",
            Some("bytes 7-12/13"),
        ),
        (
            "bytes=13-",
            StatusCode::RANGE_NOT_SATISFIABLE,
            "",
            Some("bytes */13"),
        ),
        ("bytes=0-1, 3-4", StatusCode::OK, HELLO, None),
        ("lines=1-2", StatusCode::OK, HELLO, None),
    ];
    for (range, status, body, content_range) in cases {
        let out = get(&chain, "GET", "/static/hello.txt", &[("range", range)]).await;
        assert_eq!(out.status, *status, "{range}");
        assert_eq!(header(&out, "content-range"), *content_range, "{range}");
        if *status == StatusCode::RANGE_NOT_SATISFIABLE {
            assert_eq!(
                header(&out, "content-type"),
                Some("application/problem+json")
            );
        } else {
            assert_eq!(out.body, *body, "{range}");
            assert_eq!(
                header(&out, "content-length"),
                Some(body.len().to_string().as_str())
            );
        }
    }
    let head = get(
        &chain,
        "HEAD",
        "/static/hello.txt",
        &[("range", "bytes=0-4")],
    )
    .await;
    assert_eq!(head.status, StatusCode::OK, "HEAD ignores Range");
}

#[tokio::test]
async fn if_range_sends_the_range_only_while_the_copy_is_current() {
    let site = site();
    let chain = served(&config(&site));
    let current = hello_etag();
    let weak = format!("W/{current}");
    for (if_range, status) in [
        (current.as_str(), StatusCode::PARTIAL_CONTENT),
        (MODIFIED_DATE, StatusCode::PARTIAL_CONTENT),
        ("\"stale\"", StatusCode::OK),
        (weak.as_str(), StatusCode::OK),
        ("Mon, 13 Nov 2023 22:13:20 GMT", StatusCode::OK),
        ("garbage", StatusCode::OK),
    ] {
        let headers = [("range", "bytes=0-4"), ("if-range", if_range)];
        let out = get(&chain, "GET", "/static/hello.txt", &headers).await;
        assert_eq!(out.status, status, "If-Range: {if_range}");
    }
}

#[tokio::test]
async fn conditional_requests_are_304_or_412() {
    let site = site();
    let chain = served(&StaticFilesConfig::new(&site.root).cache_max_age(3600));
    let tag = hello_etag();
    let weak = format!("W/{tag}");
    let cases: &[(&str, &str, StatusCode)] = &[
        ("if-none-match", &tag, StatusCode::NOT_MODIFIED),
        ("if-none-match", &weak, StatusCode::NOT_MODIFIED),
        ("if-none-match", "\"other\"", StatusCode::OK),
        ("if-modified-since", MODIFIED_DATE, StatusCode::NOT_MODIFIED),
        (
            "if-modified-since",
            "Mon, 13 Nov 2023 22:13:20 GMT",
            StatusCode::OK,
        ),
        ("if-match", "\"other\"", StatusCode::PRECONDITION_FAILED),
        ("if-match", &tag, StatusCode::OK),
        (
            "if-unmodified-since",
            "Mon, 13 Nov 2023 22:13:20 GMT",
            StatusCode::PRECONDITION_FAILED,
        ),
    ];
    for method in ["GET", "HEAD"] {
        for (name, value, status) in cases {
            let out = get(&chain, method, "/static/hello.txt", &[(name, value)]).await;
            assert_eq!(out.status, *status, "{method} {name}: {value}");
            if *status == StatusCode::NOT_MODIFIED {
                assert!(out.body.is_empty());
                // the tag in the form the client holds it
                let expected: &str = if value.starts_with("W/") { value } else { &tag };
                assert_eq!(header(&out, "etag"), Some(expected));
                assert_eq!(header(&out, "cache-control"), Some("public, max-age=3600"));
                assert_eq!(header(&out, "vary"), Some("Accept-Encoding"));
                assert!(out.headers.get("content-length").is_none());
                assert!(out.headers.get("content-type").is_none());
            }
        }
    }
}

#[tokio::test]
async fn precompressed_siblings_for_clients_that_accept_them_never_for_ranges() {
    let site = site();
    let chain = served(&config(&site));
    let identity = get(&chain, "GET", "/static/app.js", &[]).await;
    assert_eq!(identity.body, "console.log('identity');\n");
    assert_eq!(
        header(&identity, "content-type"),
        Some("text/javascript; charset=utf-8")
    );
    let cases = [
        ("br, gzip", "BROTLI", Some("br")),
        ("gzip, br;q=0.5", "GZIP", Some("gzip")),
        ("zstd, gzip;q=0.1", "GZIP", Some("gzip")), // no app.js.zst
        ("identity", "console.log('identity');\n", None),
    ];
    for (accept, body, coding) in cases {
        let out = get(
            &chain,
            "GET",
            "/static/app.js",
            &[("accept-encoding", accept)],
        )
        .await;
        assert_eq!(out.body, body, "{accept}");
        assert_eq!(header(&out, "content-encoding"), coding);
        assert_eq!(header(&out, "vary"), Some("Accept-Encoding"));
        assert_eq!(
            header(&out, "content-type"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(
            header(&out, "content-length"),
            Some(body.len().to_string().as_str())
        );
        if coding.is_some() {
            assert!(out.headers.get("accept-ranges").is_none());
            assert_ne!(
                out.headers["etag"], identity.headers["etag"],
                "one tag per variant"
            );
        }
    }
    let ranged = [("accept-encoding", "br"), ("range", "bytes=0-6")];
    let out = get(&chain, "GET", "/static/app.js", &ranged).await;
    assert_eq!(out.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(out.body, "console");
    assert!(out.headers.get("content-encoding").is_none());
    let off = StaticFilesConfig {
        precompressed: false,
        ..config(&site)
    };
    let out = get(
        &served(&off),
        "GET",
        "/static/app.js",
        &[("accept-encoding", "br")],
    )
    .await;
    assert_eq!(out.body, "console.log('identity');\n");
    assert!(out.headers.get("vary").is_none());
}
