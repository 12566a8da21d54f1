//! JWT with HMAC keys: the claims checks, where tokens come from, and what a refusal says.

use data_encoding::BASE64URL_NOPAD;
use http::StatusCode;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use super::{send, Seen};
use crate::auth::jwt::ring_provider;
use crate::auth::jwt::WallClock;
use crate::test_support::{chain, request};
use crate::{Chain, JwtAuth, JwtConfig};

/// The fixed "now" of the layers under test.
pub(super) const NOW: u64 = 1_800_000_000;
pub(super) const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

pub(super) fn layer(config: &JwtConfig) -> Chain {
    let mut layer = JwtAuth::new(config).unwrap();
    layer.clock = WallClock::Fixed(NOW);
    chain(vec![layer.into()])
}

pub(super) fn hmac(algorithm: &str) -> JwtConfig {
    JwtConfig {
        secret: Some(SECRET.to_vec()),
        algorithm: algorithm.into(),
        ..JwtConfig::default()
    }
}

pub(super) fn sign(algorithm: Algorithm, claims: &Value, key: &EncodingKey) -> String {
    ring_provider::install();
    jsonwebtoken::encode(&Header::new(algorithm), claims, key).unwrap()
}

pub(super) fn signed_hs256(claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        claims,
        &EncodingKey::from_secret(SECRET).unwrap(),
    )
}

pub(super) fn claims() -> Value {
    json!({"sub": "alice", "exp": NOW + 3600, "roles": ["admin"]})
}

pub(super) async fn get_with_token(chain: &Chain, token: &str) -> Seen {
    let value = format!("Bearer {token}");
    send(
        chain,
        request("GET", "/items", &[("authorization", &value)]),
    )
    .await
}

/// A refusal of a token that was sent: RFC 6750's `invalid_token`, and no echo of it.
pub(super) fn assert_invalid_token(out: &Seen, detail: &str, token: &str) {
    out.assert_refused(detail);
    let challenge = out.challenge();
    assert!(
        challenge
            .starts_with("Bearer realm=\"api\", error=\"invalid_token\", error_description=\""),
        "{challenge}"
    );
    assert!(challenge.contains(detail), "{challenge}");
    if token.len() > 8 {
        assert!(
            !out.body.contains(token) && !challenge.contains(token),
            "the token is echoed"
        );
    }
}

#[tokio::test]
async fn hmac_tokens_put_their_claims_into_the_request() {
    for (name, algorithm) in [
        ("HS256", Algorithm::HS256),
        ("HS384", Algorithm::HS384),
        ("hs512", Algorithm::HS512),
    ] {
        let chain = layer(&hmac(name));
        let token = sign(
            algorithm,
            &claims(),
            &EncodingKey::from_secret(SECRET).unwrap(),
        );
        let out = get_with_token(&chain, &token).await;
        assert_eq!(out.status, StatusCode::OK, "{name}: {}", out.body);
        assert_eq!(out.user(), claims());
    }
}

#[tokio::test]
async fn another_algorithm_in_the_header_is_refused() {
    let chain = layer(&hmac("HS256"));
    let hs512 = sign(
        Algorithm::HS512,
        &claims(),
        &EncodingKey::from_secret(SECRET).unwrap(),
    );
    assert_invalid_token(
        &get_with_token(&chain, &hs512).await,
        "not signed with the algorithm this server accepts (HS256)",
        &hs512,
    );
    // alg "none": an unsigned token, with and without a signature part
    let header = BASE64URL_NOPAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = BASE64URL_NOPAD.encode(claims().to_string().as_bytes());
    for unsigned in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}.c2ln"),
    ] {
        let out = get_with_token(&chain, &unsigned).await;
        assert_invalid_token(&out, "not signed with the algorithm", &unsigned);
    }
}

#[tokio::test]
async fn a_tampered_token_is_refused() {
    let chain = layer(&hmac("HS256"));
    let token = signed_hs256(&claims());
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
    let bad_signature = format!("{signed}.{flipped}{}", &signature[1..]);
    assert_invalid_token(
        &get_with_token(&chain, &bad_signature).await,
        "signature is invalid",
        &bad_signature,
    );
    // the payload of another token (a promotion to "root") under the first one's signature
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    parts[1] = BASE64URL_NOPAD.encode(
        json!({"sub": "root", "exp": NOW + 3600})
            .to_string()
            .as_bytes(),
    );
    let forged = parts.join(".");
    assert_invalid_token(
        &get_with_token(&chain, &forged).await,
        "signature is invalid",
        &forged,
    );
    let other_secret = sign(
        Algorithm::HS256,
        &claims(),
        &EncodingKey::from_secret(b"another secret of 32 bytes or more").unwrap(),
    );
    assert_invalid_token(
        &get_with_token(&chain, &other_secret).await,
        "signature is invalid",
        &other_secret,
    );
}

#[tokio::test]
async fn expiry_is_required_and_checked_with_the_leeway() {
    let strict = layer(&hmac("HS256"));
    let lenient = layer(&JwtConfig {
        leeway: 60,
        ..hmac("HS256")
    });
    let expired_30s_ago = signed_hs256(&json!({"sub": "alice", "exp": NOW - 30}));
    assert_invalid_token(
        &get_with_token(&strict, &expired_30s_ago).await,
        "has expired",
        &expired_30s_ago,
    );
    assert_eq!(
        get_with_token(&lenient, &expired_30s_ago).await.user()["sub"],
        "alice"
    );
    let expired_2min_ago = signed_hs256(&json!({"sub": "alice", "exp": NOW - 120}));
    assert_invalid_token(
        &get_with_token(&lenient, &expired_2min_ago).await,
        "has expired",
        &expired_2min_ago,
    );
    // exp == now: the token's time is over (RFC 7519: valid only before exp)
    let at_now = signed_hs256(&json!({"exp": NOW}));
    assert_invalid_token(
        &get_with_token(&strict, &at_now).await,
        "has expired",
        &at_now,
    );
    let fractional = signed_hs256(&json!({"exp": NOW as f64 + 0.5}));
    assert_eq!(
        get_with_token(&strict, &fractional).await.status,
        StatusCode::OK
    );
    let no_exp = signed_hs256(&json!({"sub": "alice"}));
    assert_invalid_token(
        &get_with_token(&strict, &no_exp).await,
        "no expiry time (exp)",
        &no_exp,
    );
}

#[tokio::test]
async fn not_before_is_checked_with_the_leeway() {
    let strict = layer(&hmac("HS256"));
    let lenient = layer(&JwtConfig {
        leeway: 60,
        ..hmac("HS256")
    });
    let soon = signed_hs256(&json!({"exp": NOW + 3600, "nbf": NOW + 30}));
    assert_invalid_token(
        &get_with_token(&strict, &soon).await,
        "not valid yet (nbf)",
        &soon,
    );
    assert_eq!(get_with_token(&lenient, &soon).await.status, StatusCode::OK);
    let later = signed_hs256(&json!({"exp": NOW + 7200, "nbf": NOW + 3600}));
    assert_invalid_token(
        &get_with_token(&lenient, &later).await,
        "not valid yet (nbf)",
        &later,
    );
    let started = signed_hs256(&json!({"exp": NOW + 3600, "nbf": NOW}));
    assert_eq!(
        get_with_token(&strict, &started).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn time_claims_of_the_wrong_type_are_refused() {
    // CVE-2026-25537 in jsonwebtoken 9: a string nbf or exp was treated as absent
    let chain = layer(&hmac("HS256"));
    for claims in [
        json!({"exp": NOW + 3600, "nbf": "99999999999"}),
        json!({"exp": "99999999999"}),
        json!({"exp": NOW + 3600, "nbf": null}),
    ] {
        let token = signed_hs256(&claims);
        let out = get_with_token(&chain, &token).await;
        assert_eq!(out.status, StatusCode::UNAUTHORIZED, "{claims}");
        assert!(out.claims.is_none());
    }
}

#[tokio::test]
async fn issuer_and_audience_are_required_once_configured() {
    let config = JwtConfig {
        issuer: vec!["https://id.example".into()],
        audience: vec!["orders".into(), "billing".into()],
        ..hmac("HS256")
    };
    let chain = layer(&config);
    let good = json!({"exp": NOW + 60, "iss": "https://id.example", "aud": ["web", "orders"]});
    assert_eq!(
        get_with_token(&chain, &signed_hs256(&good)).await.status,
        StatusCode::OK
    );
    let cases = [
        (
            json!({"exp": NOW + 60, "iss": "https://evil.example", "aud": "orders"}),
            "issuer (iss) is not accepted",
        ),
        (json!({"exp": NOW + 60, "aud": "orders"}), "no issuer (iss)"),
        (
            json!({"exp": NOW + 60, "iss": "https://id.example", "aud": "web"}),
            "audience (aud) is not accepted",
        ),
        (
            json!({"exp": NOW + 60, "iss": "https://id.example"}),
            "no audience (aud)",
        ),
        (
            json!({"exp": NOW + 60, "iss": ["https://id.example"], "aud": "orders"}),
            "wrong type",
        ),
    ];
    for (claims, detail) in cases {
        let token = signed_hs256(&claims);
        assert_invalid_token(&get_with_token(&chain, &token).await, detail, &token);
    }
    // without a configured audience, a token meant for some audience is refused (RFC 7519 4.1.3)
    let plain = layer(&hmac("HS256"));
    let for_someone = signed_hs256(&json!({"exp": NOW + 60, "aud": "orders"}));
    assert_invalid_token(
        &get_with_token(&plain, &for_someone).await,
        "audience (aud) is not accepted",
        &for_someone,
    );
}

fn config_error(config: &JwtConfig) -> String {
    JwtAuth::new(config).unwrap_err().to_string()
}

#[test]
fn bad_hmac_configurations_are_refused_with_a_reason() {
    let cases = [
        (
            hmac("XS256"),
            "algorithm \"XS256\" is not supported; use one of HS256, HS384",
        ),
        (hmac("none"), "would accept unsigned tokens"),
        (
            JwtConfig {
                secret: Some(b"short secret".to_vec()),
                ..hmac("HS256")
            },
            "secret is 12 bytes; HS256 needs at least 32",
        ),
        (
            JwtConfig {
                secret: None,
                ..hmac("HS384")
            },
            "secret is required for HS384",
        ),
        (
            JwtConfig {
                secret: Some(b"-----BEGIN PUBLIC KEY-----\nMIIBIjANBg...".to_vec()),
                ..hmac("HS256")
            },
            "looks like a PEM key",
        ),
        (
            JwtConfig {
                public_key: Some("key.pem".into()),
                ..hmac("HS256")
            },
            "public_key and jwks are for RS*",
        ),
        (
            JwtConfig {
                header_name: "bad header".into(),
                ..hmac("HS256")
            },
            "not a valid header name",
        ),
        (
            JwtConfig {
                header_prefix: String::new(),
                ..hmac("HS256")
            },
            "needs a scheme",
        ),
        (
            JwtConfig {
                cookie_name: Some("a;b".into()),
                ..hmac("HS256")
            },
            "is not a cookie name",
        ),
        (
            JwtConfig {
                skip_paths: vec!["docs".into()],
                ..hmac("HS256")
            },
            "must start with \"/\"",
        ),
    ];
    for (config, expected) in cases {
        let error = config_error(&config);
        assert!(
            error.contains(expected),
            "{error:?} should say {expected:?}"
        );
    }
    let debug = format!("{:?}", hmac("HS256"));
    assert!(
        debug.contains("[redacted]") && !debug.contains("0123456789abcdef"),
        "{debug}"
    );
}
