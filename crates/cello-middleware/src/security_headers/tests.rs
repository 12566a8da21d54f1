use http::StatusCode;

use super::{SecurityHeaders, SecurityHeadersConfig};
use crate::test_support::{chain, conn, request, run};

#[tokio::test]
async fn defaults_on_every_response_and_hsts_only_over_tls() {
    let layer = SecurityHeaders::new(&SecurityHeadersConfig::strict()).unwrap();
    let chain = chain(vec![layer.into()]);
    let plain = run(
        &chain,
        request("GET", "/", &[]),
        Some(conn(false)),
        StatusCode::NOT_FOUND,
        "",
    )
    .await;
    assert_eq!(plain.headers["x-frame-options"], "DENY");
    assert_eq!(plain.headers["x-content-type-options"], "nosniff");
    assert_eq!(
        plain.headers["referrer-policy"],
        "strict-origin-when-cross-origin"
    );
    assert!(plain.headers.get("strict-transport-security").is_none());
    let tls = run(
        &chain,
        request("GET", "/", &[]),
        Some(conn(true)),
        StatusCode::OK,
        "",
    )
    .await;
    assert_eq!(
        tls.headers["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
}

#[test]
fn invalid_values_and_weak_preload_are_refused() {
    let bad = SecurityHeadersConfig {
        csp: Some("default-src 'self'\r\nX: y".into()),
        ..Default::default()
    };
    assert!(SecurityHeaders::new(&bad)
        .unwrap_err()
        .to_string()
        .contains("content-security-policy"));
    let weak = SecurityHeadersConfig {
        hsts_max_age: Some(60),
        hsts_preload: true,
        ..Default::default()
    };
    assert!(SecurityHeaders::new(&weak)
        .unwrap_err()
        .to_string()
        .contains("preload"));
}
