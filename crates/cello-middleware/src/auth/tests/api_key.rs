//! API keys: good and bad keys, names and claims, and the configuration checks.

use http::StatusCode;
use serde_json::json;

use super::send;
use crate::test_support::{chain, request};
use crate::{ApiKeyAuth, ApiKeyConfig, Chain};

fn keys(header: &str) -> Chain {
    let config = ApiKeyConfig {
        keys: [
            ("key-ci-0123456789".to_string(), json!("ci")),
            (
                "key-admin-abcdefgh".to_string(),
                json!({"sub": "ops", "roles": ["admin"]}),
            ),
        ]
        .into(),
        header: header.into(),
        ..ApiKeyConfig::default()
    };
    chain(vec![ApiKeyAuth::new(&config).unwrap().into()])
}

#[tokio::test]
async fn a_good_key_names_its_holder() {
    let chain = keys("X-API-Key");
    let out = send(
        &chain,
        request("GET", "/", &[("x-api-key", "key-ci-0123456789")]),
    )
    .await;
    assert_eq!(out.user(), json!({"sub": "ci", "auth": "api_key"}));
    let out = send(
        &chain,
        request("GET", "/", &[("x-api-key", " key-admin-abcdefgh ")]),
    )
    .await;
    assert_eq!(
        out.user(),
        json!({"sub": "ops", "roles": ["admin"], "auth": "api_key"})
    );
    let chain = keys("Api-Token");
    let out = send(
        &chain,
        request("GET", "/", &[("api-token", "key-ci-0123456789")]),
    )
    .await;
    assert_eq!(out.status, StatusCode::OK);
}

#[tokio::test]
async fn a_bad_or_missing_key_is_refused() {
    let chain = keys("X-API-Key");
    let challenge = "ApiKey header=\"X-API-Key\"";
    for value in [
        "key-ci-012345678",
        "key-ci-0123456789x",
        "KEY-CI-0123456789",
        "x",
    ] {
        let out = send(&chain, request("GET", "/", &[("x-api-key", value)])).await;
        out.assert_refused("the API key is not valid");
        assert_eq!(out.challenge(), challenge);
        assert!(!out.body.contains(value));
    }
    let out = send(
        &chain,
        request("GET", "/", &[("authorization", "Bearer key-ci-0123456789")]),
    )
    .await;
    out.assert_refused("no API key was sent (header x-api-key)");
    let twice = request(
        "GET",
        "/",
        &[("x-api-key", "key-ci-0123456789"), ("x-api-key", "x")],
    );
    send(&chain, twice).await.assert_refused("malformed");
    let long = "k".repeat(5000);
    send(&chain, request("GET", "/", &[("x-api-key", &long)]))
        .await
        .assert_refused("malformed");
    send(&chain, request("GET", "/", &[("x-api-key", "")]))
        .await
        .assert_refused("malformed");
}

#[test]
fn bad_configurations_are_refused_with_a_reason() {
    let with = |key: &str, holder: serde_json::Value, header: &str| ApiKeyConfig {
        keys: [(key.to_string(), holder)].into(),
        header: header.into(),
        ..ApiKeyConfig::default()
    };
    let cases = [
        (ApiKeyConfig::default(), "keys is empty"),
        (
            with("", json!("ci"), "X-API-Key"),
            "1 to 4096 visible ASCII",
        ),
        (
            with(" padded ", json!("ci"), "X-API-Key"),
            "without surrounding spaces",
        ),
        (with("key\n", json!("ci"), "X-API-Key"), "visible ASCII"),
        (
            with("key-0123", json!(7), "X-API-Key"),
            "name of its holder or a dict",
        ),
        (
            with("key-0123", json!("ci"), "bad header"),
            "not a valid header name",
        ),
    ];
    for (config, expected) in cases {
        let error = ApiKeyAuth::new(&config).unwrap_err().to_string();
        assert!(
            error.contains(expected),
            "{error:?} should say {expected:?}"
        );
    }
    let debug = format!("{:?}", with("key-0123-secret", json!("ci"), "X-API-Key"));
    assert!(!debug.contains("key-0123-secret"), "{debug}");
}
