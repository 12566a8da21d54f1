//! The built-in middleware over a request made of the input (`METHOD TARGET` line,
//! `name: value` header lines, a blank line, the body): the parsers of JWTs (bearer
//! header and cookie), Basic credentials, session and CSRF cookies and tokens (header
//! and form field), `X-Forwarded-For` hops, `Accept-Encoding`, `If-None-Match` /
//! `If-Match` / `If-Modified-Since` / `If-Range` and `Range` (on static files and on
//! the ETag layer), CORS origins and request ids, through `Chain::run` as a request
//! meets them. Invariants: no 500 and no panic from any of them, and every answer's
//! body can be read to the end.
#![no_main]

use std::collections::HashMap;
use std::path::PathBuf;

use bytes::Bytes;
use cello_http::{ConnInfo, Request, RequestBody, Response, ResponseBody};
use cello_middleware::{
    BasicAuth, BasicAuthConfig, Cache, CacheConfig, Chain, Compression, CompressionConfig, Cors,
    CorsConfig, Csrf, CsrfConfig, Etag, EtagConfig, JwtAuth, JwtConfig, Layer, RateLimit,
    RateLimitConfig, RequestId, RequestIdConfig, Session, SessionConfig, StaticFiles,
    StaticFilesConfig,
};
use http::StatusCode;
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"a fuzzing secret of at least thirty-two bytes";

struct Chains {
    runtime: tokio::runtime::Runtime,
    chains: Vec<Chain>,
    _site: tempfile::TempDir,
}

fn site() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path().join("site");
    std::fs::create_dir_all(root.join("docs")).expect("site directories");
    std::fs::write(root.join("hello.txt"), "hello, ".repeat(200)).expect("a file");
    std::fs::write(root.join("docs/index.html"), "<p>index</p>").expect("a file");
    (dir, root)
}

fn chains() -> Chains {
    let (site, root) = site();
    let common = || -> Vec<Layer> {
        vec![
            RequestId::new(&RequestIdConfig::default()).unwrap().into(),
            Cors::new(&CorsConfig::default()).unwrap().into(),
            Compression::new(&CompressionConfig {
                min_size: 16,
                ..CompressionConfig::default()
            })
            .unwrap()
            .into(),
            Etag::new(&EtagConfig::default()).unwrap().into(),
        ]
    };
    let jwt = JwtAuth::new(&JwtConfig {
        secret: Some(SECRET.to_vec()),
        algorithm: "HS256".into(),
        cookie_name: Some("access_token".into()),
        skip_paths: vec!["/static/".into()],
        ..JwtConfig::default()
    })
    .unwrap();
    let mut first = common();
    first.push(jwt.into());
    first.push(
        StaticFiles::new(&StaticFilesConfig {
            prefix: "/static/".into(),
            index_file: Some("index.html".into()),
            directory_listing: true,
            ..StaticFilesConfig::new(&root)
        })
        .unwrap()
        .into(),
    );
    first.push(
        RateLimit::new(RateLimitConfig {
            trusted_proxies: vec!["127.0.0.0/8".into(), "::1".into()],
            trust_x_real_ip: true,
            ..RateLimitConfig::default()
        })
        .unwrap()
        .into(),
    );
    let mut second = common();
    second.push(
        BasicAuth::new(&BasicAuthConfig {
            credentials: HashMap::from([("alice".into(), "wonderland".into())]),
            ..BasicAuthConfig::default()
        })
        .unwrap()
        .into(),
    );
    let mut third = common();
    third.push(
        Session::new(&SessionConfig {
            secret: SECRET.to_vec(),
            ..SessionConfig::default()
        })
        .unwrap()
        .into(),
    );
    third.push(
        Csrf::new(&CsrfConfig {
            secret: SECRET.to_vec(),
            ..CsrfConfig::default()
        })
        .unwrap()
        .into(),
    );
    third.push(Cache::new(&CacheConfig::default()).unwrap().into());
    let chains = [first, second, third]
        .into_iter()
        .map(|layers| Chain::new(layers).unwrap().expect("layers"))
        .collect();
    Chains {
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime"),
        chains,
        _site: site,
    }
}

thread_local! {
    static CHAINS: Chains = chains();
}

/// The request the input describes, or `None` when `http` refuses its parts.
fn request(data: &[u8]) -> Option<Request> {
    let split = data
        .windows(2)
        .position(|w| w == b"\n\n")
        .unwrap_or(data.len());
    let head = std::str::from_utf8(&data[..split]).ok()?;
    let body = data.get(split + 2..).unwrap_or_default();
    let mut lines = head.lines();
    let (method, target) = lines.next()?.split_once(' ')?;
    let mut builder = http::Request::builder().method(method).uri(target);
    for line in lines {
        let (name, value) = line.split_once(':')?;
        builder = builder.header(name.trim(), value.trim());
    }
    builder
        .body(RequestBody::Full(Bytes::copy_from_slice(body)))
        .ok()
}

async fn handler(request: Request) -> Response {
    let body = match request.into_body() {
        RequestBody::Full(bytes) => bytes,
        RequestBody::Incoming(_) => Bytes::new(),
    };
    let mut answer = b"app ".repeat(64);
    answer.extend_from_slice(&body[..body.len().min(256)]);
    Response::new(ResponseBody::full(answer))
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Some(request) = request(rest) else {
        return;
    };
    let conn = ConnInfo {
        peer: "127.0.0.1:40000".parse().unwrap(),
        local: "127.0.0.1:8000".parse().unwrap(),
        secure: which & 0x80 != 0,
    };
    CHAINS.with(|chains| {
        let chain = &chains.chains[usize::from(which) % chains.chains.len()];
        chains.runtime.block_on(async {
            let response = chain.run(request, Some(conn), handler).await;
            assert_ne!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
            response
                .into_body()
                .collect_bytes()
                .await
                .expect("a readable body");
        });
    });
});
