//! JWT: where the token is read from (header, prefix, cookie), and what a request without
//! one or with garbage instead gets.

use http::{HeaderValue, StatusCode};

use super::jwt::{claims, hmac, layer, signed_hs256};
use super::send;
use crate::test_support::request;
use crate::JwtConfig;

#[tokio::test]
async fn the_scheme_is_case_insensitive_and_spaces_are_tolerated() {
    let chain = layer(&hmac("HS256"));
    let token = signed_hs256(&claims());
    for value in [
        format!("bearer {token}"),
        format!("BEARER   {token}"),
        format!("  Bearer\t{token} "),
    ] {
        let out = send(&chain, request("GET", "/", &[("authorization", &value)])).await;
        assert_eq!(out.user()["sub"], "alice", "{value}");
    }
}

#[tokio::test]
async fn the_token_may_come_from_a_cookie() {
    let chain = layer(&JwtConfig {
        cookie_name: Some("access_token".into()),
        ..hmac("HS256")
    });
    let token = signed_hs256(&claims());
    let cookie = format!("theme=dark; access_token={token}; lang=en");
    let out = send(&chain, request("GET", "/", &[("cookie", &cookie)])).await;
    assert_eq!(out.user()["sub"], "alice");
    // a header with another scheme is not ours: the cookie is read
    let out = send(
        &chain,
        request(
            "GET",
            "/",
            &[("authorization", "Basic YTpi"), ("cookie", &cookie)],
        ),
    )
    .await;
    assert_eq!(out.user()["sub"], "alice");
    let out = send(
        &chain,
        request("GET", "/", &[("cookie", "access_token_old=x; theme=dark")]),
    )
    .await;
    out.assert_refused("or the cookie access_token");
    assert_eq!(out.challenge(), "Bearer realm=\"api\"");
}

#[tokio::test]
async fn another_header_takes_the_token_bare_or_after_the_prefix() {
    let chain = layer(&JwtConfig {
        header_name: "X-Auth-Token".into(),
        ..hmac("HS256")
    });
    let token = signed_hs256(&claims());
    for value in [token.clone(), format!("Bearer {token}")] {
        let out = send(&chain, request("GET", "/", &[("x-auth-token", &value)])).await;
        assert_eq!(out.user()["sub"], "alice");
    }
    let out = send(
        &chain,
        request("GET", "/", &[("authorization", &format!("Bearer {token}"))]),
    )
    .await;
    out.assert_refused("send X-Auth-Token: Bearer <token>");
}

#[tokio::test]
async fn a_missing_token_is_challenged_without_an_error_code() {
    let chain = layer(&hmac("HS256"));
    for headers in [
        vec![],
        vec![("authorization", "Basic YWxpY2U6d29uZGVybGFuZA==")],
    ] {
        let out = send(&chain, request("GET", "/", &headers)).await;
        out.assert_refused("no bearer token was sent: send Authorization: Bearer <token>");
        assert_eq!(out.challenge(), "Bearer realm=\"api\"");
    }
}

#[tokio::test]
async fn garbage_is_a_401_never_a_panic() {
    let chain = layer(&hmac("HS256"));
    let huge = format!("Bearer {}", "a".repeat(100_000));
    let dots = format!("Bearer {}", ".".repeat(5000));
    let values = [
        "Bearer",
        "Bearer ",
        "Bearer !!!",
        "Bearer a.b.c",
        "Bearer a.b",
        "Bearer a.b.c.d",
        "Bearer ...",
        "Bearer e30.e30.e30",
        "Bearer eyJhbGciOiJIUzI1NiJ9.%%%.sig",
        "Bearer eyJhbGciOjF9.e30.sig",
        "Bearer W10.e30.sig",
        "Bearertoken",
        &huge,
        &dots,
    ];
    for value in values {
        let out = send(&chain, request("GET", "/", &[("authorization", value)])).await;
        assert_eq!(out.status, StatusCode::UNAUTHORIZED, "{value:.40}");
        assert!(out.claims.is_none());
    }
    let mut binary = request("GET", "/", &[]);
    binary.headers_mut().insert(
        "authorization",
        HeaderValue::from_bytes(b"Bearer \xff\xfe.\x80").unwrap(),
    );
    assert_eq!(send(&chain, binary).await.status, StatusCode::UNAUTHORIZED);
    // two Authorization headers: refused rather than guessing which one is meant
    let token = signed_hs256(&claims());
    let value = format!("Bearer {token}");
    let twice = request(
        "GET",
        "/",
        &[("authorization", &value), ("authorization", &value)],
    );
    send(&chain, twice).await.assert_refused("malformed");
    let long = format!("Bearer {}", "a".repeat(9000));
    send(&chain, request("GET", "/", &[("authorization", &long)]))
        .await
        .assert_refused("too long");
}
