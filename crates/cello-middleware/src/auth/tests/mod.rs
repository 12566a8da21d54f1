//! Tests of the authentication layers: one file per scheme, plus the public-key algorithms
//! of JWT, and the rules they share (skip paths, OPTIONS, the chain) here.

mod api_key;
mod basic;
mod jwt;
mod jwt_public_keys;
mod jwt_requests;

use std::cell::RefCell;
use std::rc::Rc;

use bytes::Bytes;
use cello_http::{Request, Response, ResponseBody};
use http::{HeaderMap, StatusCode};
use serde_json::{json, Value};

use super::{find_constant_time, AuthClaims, SecretDigest, SkipPaths};
use crate::test_support::{chain, request};
use crate::{
    ApiKeyAuth, ApiKeyConfig, BasicAuth, BasicAuthConfig, Chain, ConfigError, Cors, CorsConfig,
};

/// What came back, and what the handler saw.
pub(super) struct Seen {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    /// `None`: the handler was not called; `Some(None)`: called without claims.
    pub claims: Option<Option<Value>>,
}

impl Seen {
    pub fn challenge(&self) -> &str {
        self.headers["www-authenticate"].to_str().unwrap()
    }

    /// The claims the handler saw; panics with the answer when it was not called.
    pub fn user(&self) -> Value {
        match &self.claims {
            Some(Some(claims)) => claims.clone(),
            Some(None) => panic!("the handler ran without claims"),
            None => panic!("refused: {} {}", self.status, self.body),
        }
    }

    pub fn assert_refused(&self, detail: &str) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{}", self.body);
        assert!(self.claims.is_none(), "the handler must not run");
        assert_eq!(self.headers["content-type"], "application/problem+json");
        let body: Value = serde_json::from_str(&self.body).unwrap();
        assert_eq!(body["status"], 401);
        let got = body["detail"].as_str().unwrap();
        assert!(
            got.contains(detail),
            "detail {got:?} does not say {detail:?}"
        );
    }
}

pub(super) async fn send(chain: &Chain, request: Request) -> Seen {
    let seen = Rc::new(RefCell::new(None));
    let slot = seen.clone();
    let response = chain
        .run(request, None, |request| async move {
            let claims = request
                .extensions()
                .get::<AuthClaims>()
                .map(|c| c.0.clone());
            *slot.borrow_mut() = Some(claims);
            Response::new(ResponseBody::full(Bytes::from_static(b"ok")))
        })
        .await;
    let (parts, body) = response.into_parts();
    let body = body.collect_bytes().await.unwrap();
    let claims = seen.borrow_mut().take();
    Seen {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
        claims,
    }
}

fn skip(paths: &[&str]) -> SkipPaths {
    let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
    SkipPaths::new("test", &paths).unwrap()
}

#[test]
fn skip_paths_match_whole_segments_unless_they_end_in_a_star() {
    let rules = skip(&["/health", "/static/", "/public*"]);
    for path in [
        "/health",
        "/health/live",
        "/static/",
        "/static/app.js",
        "/public",
        "/public/x",
        "/publications",
    ] {
        assert!(rules.matches(path), "{path} is skipped");
    }
    for path in [
        "/healthz",
        "/static",
        "/",
        "/admin",
        "/Health",
        "/%68ealth",
        "/api/health",
    ] {
        assert!(!rules.matches(path), "{path} is not skipped");
    }
    let error = SkipPaths::new("JwtConfig", &["health".to_string()]).unwrap_err();
    assert!(
        error.to_string().contains("must start with \"/\""),
        "{error}"
    );
}

#[tokio::test]
async fn skipped_paths_and_options_pass_without_credentials_but_keep_valid_ones() {
    let config = BasicAuthConfig {
        credentials: [("alice".to_string(), "wonderland".to_string())].into(),
        skip_paths: vec!["/health".into()],
        ..BasicAuthConfig::default()
    };
    let chain = chain(vec![BasicAuth::new(&config).unwrap().into()]);
    let out = send(&chain, request("GET", "/health/live", &[])).await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.claims, Some(None));
    // bad credentials on a skipped path: no 401, no user
    let out = send(
        &chain,
        request("GET", "/health", &[("authorization", "Basic Ym9iOng=")]),
    )
    .await;
    assert_eq!(out.claims, Some(None));
    // good credentials on a skipped path: the user is known
    let good = ("authorization", "Basic YWxpY2U6d29uZGVybGFuZA==");
    let out = send(&chain, request("GET", "/health", &[good])).await;
    assert_eq!(out.user()["sub"], "alice");
    // OPTIONS (a preflight, or any OPTIONS with CORS off) is never challenged
    let preflight = request(
        "OPTIONS",
        "/admin",
        &[("access-control-request-method", "DELETE")],
    );
    assert_eq!(send(&chain, preflight).await.claims, Some(None));
    // and everything else is
    send(&chain, request("GET", "/healthz", &[]))
        .await
        .assert_refused("no credentials");
}

#[tokio::test]
async fn a_401_passes_through_the_outer_layers() {
    let keys = ApiKeyConfig {
        keys: [("k-0123456789".to_string(), json!("ci"))].into(),
        ..ApiKeyConfig::default()
    };
    let chain = chain(vec![
        ApiKeyAuth::new(&keys).unwrap().into(),
        Cors::new(&CorsConfig::default()).unwrap().into(),
    ]);
    let out = send(
        &chain,
        request("GET", "/", &[("origin", "https://app.example")]),
    )
    .await;
    out.assert_refused("no API key");
    assert_eq!(out.headers["access-control-allow-origin"], "*");
}

#[test]
fn only_one_authentication_scheme_at_a_time() {
    let basic = BasicAuthConfig {
        credentials: [("alice".to_string(), "wonderland".to_string())].into(),
        ..BasicAuthConfig::default()
    };
    let keys = ApiKeyConfig {
        keys: [("k-0123456789".to_string(), json!("ci"))].into(),
        ..ApiKeyConfig::default()
    };
    let both = vec![
        BasicAuth::new(&basic).unwrap().into(),
        ApiKeyAuth::new(&keys).unwrap().into(),
    ];
    let error = Chain::new(both).unwrap_err();
    assert!(
        matches!(error, ConfigError::Duplicate("authentication")),
        "{error}"
    );
}

#[test]
fn constant_time_search_finds_any_entry_or_none() {
    let entries: Vec<SecretDigest> = ["a", "b", "c"]
        .iter()
        .map(|s| SecretDigest::of(s.as_bytes()))
        .collect();
    for (i, key) in ["a", "b", "c"].iter().enumerate() {
        let wanted = SecretDigest::of(key.as_bytes());
        assert_eq!(
            find_constant_time(&entries, |e| e.matches(&wanted)),
            Some(i)
        );
    }
    let missing = SecretDigest::of(b"d");
    assert_eq!(find_constant_time(&entries, |e| e.matches(&missing)), None);
    assert_eq!(format!("{:?}", entries[0]), "SecretDigest(..)");
}
