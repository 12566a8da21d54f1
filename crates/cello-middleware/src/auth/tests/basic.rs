//! HTTP Basic: good, wrong and malformed credentials, and the configuration checks.

use data_encoding::BASE64;
use http::StatusCode;
use serde_json::json;

use super::send;
use crate::test_support::{chain, request};
use crate::{BasicAuth, BasicAuthConfig, Chain};

fn users() -> Chain {
    let config = BasicAuthConfig {
        credentials: [
            ("alice".to_string(), "wonderland".to_string()),
            ("bob".to_string(), "pässwörd:with:colons".to_string()),
        ]
        .into(),
        realm: "Admin area".into(),
        ..BasicAuthConfig::default()
    };
    chain(vec![BasicAuth::new(&config).unwrap().into()])
}

fn basic(user_and_password: &str) -> String {
    format!("Basic {}", BASE64.encode(user_and_password.as_bytes()))
}

const CHALLENGE: &str = "Basic realm=\"Admin area\", charset=\"UTF-8\"";

#[tokio::test]
async fn good_credentials_name_the_user() {
    let chain = users();
    for (credentials, user) in [
        ("alice:wonderland", "alice"),
        ("bob:pässwörd:with:colons", "bob"),
    ] {
        let value = basic(credentials);
        let out = send(&chain, request("GET", "/", &[("authorization", &value)])).await;
        assert_eq!(out.user(), json!({"sub": user, "auth": "basic"}));
    }
    let lowercase = basic("alice:wonderland").replace("Basic", "basic");
    let out = send(
        &chain,
        request("GET", "/", &[("authorization", &lowercase)]),
    )
    .await;
    assert_eq!(out.status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_credentials_are_refused_alike() {
    let chain = users();
    for credentials in [
        "alice:Wonderland",
        "alice:",
        "carol:wonderland",
        "bob:wonderland",
        ":",
        "alice:wonderland ",
    ] {
        let value = basic(credentials);
        let out = send(&chain, request("GET", "/", &[("authorization", &value)])).await;
        out.assert_refused("the user name or password is wrong");
        assert_eq!(out.challenge(), CHALLENGE);
    }
    let out = send(&chain, request("GET", "/", &[])).await;
    out.assert_refused("no credentials were sent");
    assert_eq!(out.challenge(), CHALLENGE);
    // another scheme is no credentials
    let out = send(
        &chain,
        request("GET", "/", &[("authorization", "Bearer abc")]),
    )
    .await;
    out.assert_refused("no credentials were sent");
}

#[tokio::test]
async fn malformed_credentials_are_a_401_not_a_500() {
    let chain = users();
    let huge = format!("Basic {}", "QUFB".repeat(5000));
    let no_colon = basic("alicewonderland");
    for value in [
        "Basic",
        "Basic ",
        "Basic !!!not base64",
        "Basic YWxpY2U",
        "Basicx YQ==",
        &no_colon,
        &huge,
    ] {
        let out = send(&chain, request("GET", "/", &[("authorization", value)])).await;
        out.assert_refused("malformed");
        assert_eq!(out.challenge(), CHALLENGE);
    }
}

#[test]
fn bad_configurations_are_refused_with_a_reason() {
    let with = |user: &str, password: &str, realm: &str| BasicAuthConfig {
        credentials: [(user.to_string(), password.to_string())].into(),
        realm: realm.into(),
        ..BasicAuthConfig::default()
    };
    let cases = [
        (BasicAuthConfig::default(), "credentials is empty"),
        (with("a:b", "secret", "r"), "without \":\""),
        (with("alice", "", "r"), "the password of \"alice\" is empty"),
        (with("alice", "secret", "say \"hi\""), "without quotes"),
        (with("alice", "secret", ""), "must be non-empty"),
    ];
    for (config, expected) in cases {
        let error = BasicAuth::new(&config).unwrap_err().to_string();
        assert!(
            error.contains(expected),
            "{error:?} should say {expected:?}"
        );
    }
    let debug = format!("{:?}", with("alice", "wonderland", "r"));
    assert!(
        debug.contains("alice") && !debug.contains("wonderland"),
        "{debug}"
    );
}
