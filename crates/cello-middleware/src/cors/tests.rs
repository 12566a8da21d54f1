use http::StatusCode;

use super::{Cors, CorsConfig};
use crate::test_support::{chain, conn, request, run};

fn cors(config: &CorsConfig) -> crate::Chain {
    chain(vec![Cors::new(config).unwrap().into()])
}

fn listed(origins: &[&str], credentials: bool) -> CorsConfig {
    CorsConfig {
        origins: origins.iter().map(|o| o.to_string()).collect(),
        allow_credentials: credentials,
        expose_headers: vec!["X-Total".into()],
        ..CorsConfig::default()
    }
}

#[tokio::test]
async fn preflight_is_answered_without_calling_the_handler() {
    let chain = cors(&listed(&["https://app.example"], true));
    let preflight = request(
        "OPTIONS",
        "/items",
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "DELETE"),
            ("access-control-request-headers", "content-type, x-token"),
        ],
    );
    let out = run(
        &chain,
        preflight,
        Some(conn(false)),
        StatusCode::OK,
        "handler",
    )
    .await;
    assert!(!out.called);
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let h = &out.headers;
    assert_eq!(h["access-control-allow-origin"], "https://app.example");
    assert_eq!(
        h["access-control-allow-methods"],
        "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"
    );
    assert_eq!(h["access-control-allow-headers"], "content-type, x-token");
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert_eq!(h["access-control-max-age"], "600");
    assert!(h.get_all("vary").iter().any(|v| v == "Origin"));
}

#[tokio::test]
async fn allowed_origin_is_echoed_on_every_status() {
    let chain = cors(&listed(&["https://app.example"], true));
    for status in [
        StatusCode::OK,
        StatusCode::NOT_FOUND,
        StatusCode::INTERNAL_SERVER_ERROR,
    ] {
        let get = request("GET", "/", &[("origin", "https://app.example")]);
        let out = run(&chain, get, None, status, "{}").await;
        assert!(out.called);
        assert_eq!(out.status, status);
        assert_eq!(
            out.headers["access-control-allow-origin"],
            "https://app.example"
        );
        assert_eq!(out.headers["access-control-allow-credentials"], "true");
        assert_eq!(out.headers["access-control-expose-headers"], "X-Total");
        assert_eq!(out.headers["vary"], "Origin");
    }
}

#[tokio::test]
async fn disallowed_or_missing_origin_gets_no_cors_headers() {
    let chain = cors(&listed(&["https://app.example"], false));
    for headers in [vec![("origin", "https://evil.example")], vec![]] {
        let get = request("GET", "/", &headers);
        let out = run(&chain, get, None, StatusCode::OK, "{}").await;
        assert!(out.called);
        assert!(out.headers.get("access-control-allow-origin").is_none());
        assert_eq!(
            out.headers["vary"], "Origin",
            "a cache must not reuse the answer across origins"
        );
    }
    let preflight = request(
        "OPTIONS",
        "/",
        &[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "GET"),
        ],
    );
    let out = run(&chain, preflight, None, StatusCode::NO_CONTENT, "").await;
    assert!(
        out.called,
        "a refused preflight falls through to the router"
    );
    assert!(out.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn any_origin_without_credentials_is_a_star() {
    let chain = cors(&CorsConfig::default());
    let get = request("GET", "/", &[("origin", "https://anyone.example")]);
    let out = run(&chain, get, None, StatusCode::OK, "{}").await;
    assert_eq!(out.headers["access-control-allow-origin"], "*");
    assert!(out
        .headers
        .get("access-control-allow-credentials")
        .is_none());
    assert!(out.headers.get("vary").is_none());
}

#[test]
fn bad_configurations_are_refused_with_a_reason() {
    let star_with_credentials = CorsConfig {
        allow_credentials: true,
        ..CorsConfig::default()
    };
    let message = Cors::new(&star_with_credentials).unwrap_err().to_string();
    assert!(message.contains("list the allowed origins"), "{message}");
    let with_path = listed(&["https://app.example/path"], false);
    assert!(Cors::new(&with_path)
        .unwrap_err()
        .to_string()
        .contains("no path"));
    let bad_method = CorsConfig {
        methods: vec!["GE T".into()],
        ..CorsConfig::default()
    };
    assert!(Cors::new(&bad_method).is_err());
    let mixed = listed(&["*", "https://a.example"], false);
    assert!(Cors::new(&mixed).is_err());
}
