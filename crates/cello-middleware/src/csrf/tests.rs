use std::cell::RefCell;
use std::rc::Rc;

use bytes::Bytes;
use cello_http::{Request, RequestBody, Response, ResponseBody};
use http::{HeaderMap, StatusCode};
use serde_json::json;

use super::{Csrf, CsrfConfig, CsrfToken};
use crate::chain::Chain;
use crate::session::{Session, SessionConfig, SessionHandle};
use crate::test_support::{chain, conn};

const SECRET: &[u8] = b"another secret of at least 32 bytes, for tests";

fn config() -> CsrfConfig {
    CsrfConfig {
        secret: SECRET.to_vec(),
        ..CsrfConfig::default()
    }
}

fn csrf(config: &CsrfConfig) -> Chain {
    chain(vec![Csrf::new(config).unwrap().into()])
}

/// What came back, and what the handler saw.
struct Outcome {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    /// `None`: the handler did not run; else the token it was given and the body it read.
    handler: Option<(Option<String>, Bytes)>,
}

impl Outcome {
    fn cookie(&self) -> Option<String> {
        let line = self.headers.get("set-cookie")?.to_str().unwrap();
        let value = line.strip_prefix("__Host-csrf=")?.split(';').next()?;
        Some(value.to_owned())
    }

    fn detail(&self) -> String {
        let problem: serde_json::Value = serde_json::from_slice(&self.body).unwrap();
        problem["detail"].as_str().unwrap().to_owned()
    }
}

/// Sends `method path` over TLS to host `app.example`, with `headers` and `body`.
async fn send(
    chain: &Chain,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Outcome {
    let mut builder = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "app.example");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .body(RequestBody::Full(Bytes::copy_from_slice(body.as_bytes())))
        .unwrap();
    let seen = Rc::new(RefCell::new(None));
    let record = seen.clone();
    let response = chain
        .run(request, Some(conn(true)), |request: Request| async move {
            let token = request
                .extensions()
                .get::<CsrfToken>()
                .map(|token| token.as_str().to_owned());
            let body = request
                .into_body()
                .read_to_bytes(1 << 20, std::time::Duration::from_secs(1))
                .await
                .unwrap();
            *record.borrow_mut() = Some((token, body));
            Response::new(ResponseBody::full(Bytes::from_static(b"ok")))
        })
        .await;
    let (parts, body) = response.into_parts();
    Outcome {
        status: parts.status,
        headers: parts.headers,
        body: body.collect_bytes().await.unwrap(),
        handler: seen.take(),
    }
}

/// A cookie value and a masked token, as a browser gets them from a GET.
async fn visit(chain: &Chain) -> (String, String) {
    let out = send(chain, "GET", "/form", &[], "").await;
    let cookie = out.cookie().expect("a token cookie");
    let token = out.handler.unwrap().0.expect("a token for the page");
    (cookie, token)
}

#[tokio::test]
async fn safe_requests_pass_and_receive_a_token() {
    let chain = csrf(&config());
    let out = send(&chain, "GET", "/form", &[], "").await;
    assert_eq!(out.status, StatusCode::OK);
    let line = out.headers["set-cookie"].to_str().unwrap();
    assert!(line.ends_with("; Path=/; Secure; SameSite=Lax"), "{line}");
    assert!(
        !line.contains("HttpOnly") && !line.contains("Domain"),
        "{line}"
    );
    let (token, _) = out.handler.clone().unwrap();
    assert_eq!(token.unwrap().len(), 86);
    // With the cookie: no new one, and a new mask on each page.
    let cookie = format!("__Host-csrf={}", out.cookie().unwrap());
    let first = send(&chain, "HEAD", "/", &[("cookie", &cookie)], "").await;
    let second = send(&chain, "OPTIONS", "/", &[("cookie", &cookie)], "").await;
    assert!(first.headers.get("set-cookie").is_none());
    assert!(second.headers.get("set-cookie").is_none());
    assert_ne!(first.handler.unwrap().0, second.handler.unwrap().0);
    // A cookie this server did not sign is replaced.
    let planted = send(
        &chain,
        "GET",
        "/",
        &[("cookie", "__Host-csrf=mine.mine")],
        "",
    )
    .await;
    assert!(planted.cookie().is_some_and(|c| c != "mine.mine"));
}

#[tokio::test]
async fn the_token_in_the_header_is_checked_against_the_cookie() {
    let chain = csrf(&config());
    let (cookie, token) = visit(&chain).await;
    let cookie_header = format!("__Host-csrf={cookie}");
    let origin = ("origin", "https://app.example");
    for sent in [token.as_str(), cookie.as_str()] {
        let out = send(
            &chain,
            "POST",
            "/items",
            &[("cookie", &cookie_header), ("x-csrf-token", sent), origin],
            "",
        )
        .await;
        assert_eq!(
            out.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&out.body)
        );
        assert!(
            out.handler.unwrap().0.is_some(),
            "a token for the next form"
        );
    }

    let missing_cookie = send(
        &chain,
        "POST",
        "/items",
        &[("x-csrf-token", &token), origin],
        "",
    )
    .await;
    assert_eq!(missing_cookie.status, StatusCode::FORBIDDEN);
    assert!(missing_cookie.handler.is_none());
    assert_eq!(
        missing_cookie.headers["content-type"],
        "application/problem+json"
    );
    assert!(missing_cookie
        .detail()
        .contains("(cookie): no __Host-csrf cookie"));

    let forged = send(
        &chain,
        "POST",
        "/items",
        &[
            ("cookie", "__Host-csrf=mine.mine"),
            ("x-csrf-token", "mine.mine"),
            origin,
        ],
        "",
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.detail().contains("was not issued by this server"));

    let missing_token = send(
        &chain,
        "DELETE",
        "/items/1",
        &[("cookie", &cookie_header), origin],
        "",
    )
    .await;
    assert_eq!(missing_token.status, StatusCode::FORBIDDEN);
    assert!(missing_token.detail().contains("(token)"));
    assert!(missing_token.detail().contains("X-CSRF-Token header"));

    let (_, other_token) = visit(&chain).await;
    let mismatched = send(
        &chain,
        "PUT",
        "/items/1",
        &[
            ("cookie", &cookie_header),
            ("x-csrf-token", &other_token),
            origin,
        ],
        "",
    )
    .await;
    assert_eq!(mismatched.status, StatusCode::FORBIDDEN);
    assert!(mismatched.detail().contains("(match)"));
}

/// A POST with the cookie, the token and `extra` (no header when its name is empty).
async fn post_with(chain: &Chain, cookie: &str, token: &str, extra: (&str, &str)) -> Outcome {
    let mut headers = vec![("cookie", cookie), ("x-csrf-token", token)];
    if !extra.0.is_empty() {
        headers.push(extra);
    }
    send(chain, "POST", "/items", &headers, "").await
}

#[tokio::test]
async fn unsafe_requests_from_other_origins_are_refused() {
    let chain = csrf(&CsrfConfig {
        allowed_origins: Some(vec!["https://admin.example".into()]),
        ..config()
    });
    let (cookie, token) = visit(&chain).await;
    let cookie = format!("__Host-csrf={cookie}");
    let post = |origin: (&'static str, &'static str)| post_with(&chain, &cookie, &token, origin);
    let evil = post(("origin", "https://evil.example")).await;
    assert_eq!(evil.status, StatusCode::FORBIDDEN);
    assert!(evil.handler.is_none());
    let detail = evil.detail();
    assert!(detail.contains("(origin)"), "{detail}");
    assert!(
        detail.contains("https://evil.example (its Origin)"),
        "{detail}"
    );
    assert!(
        detail.contains("this site (https://app.example)"),
        "{detail}"
    );
    // The scheme counts: plain http is another origin.
    assert_eq!(
        post(("origin", "http://app.example")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(post(("origin", "null")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        post(("origin", "https://app.example:443")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        post(("origin", "https://admin.example")).await.status,
        StatusCode::OK
    );

    // Without Origin, the Referer's origin is checked.
    assert_eq!(
        post(("referer", "https://app.example/form?step=2"))
            .await
            .status,
        StatusCode::OK
    );
    let referer = post(("referer", "https://evil.example/page")).await;
    assert_eq!(referer.status, StatusCode::FORBIDDEN);
    assert!(
        referer.detail().contains("(its Referer)"),
        "{}",
        referer.detail()
    );
    assert_eq!(
        post(("referer", "not a url")).await.status,
        StatusCode::FORBIDDEN
    );
    // Neither header (a program, not a browser): the token decides.
    assert_eq!(post(("", "")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_token_may_come_in_a_form_field_and_the_handler_still_reads_the_body() {
    let chain = csrf(&CsrfConfig {
        max_form_size: 256,
        ..config()
    });
    let (cookie, token) = visit(&chain).await;
    let cookie = format!("__Host-csrf={cookie}");
    let form = (
        "content-type",
        "application/x-www-form-urlencoded; charset=utf-8",
    );
    let origin = ("origin", "https://app.example");
    let body = format!("title=Hello+world&_csrf={token}&done=1");
    let out = send(
        &chain,
        "POST",
        "/items",
        &[("cookie", &cookie), form, origin],
        &body,
    )
    .await;
    assert_eq!(
        out.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&out.body)
    );
    assert_eq!(out.handler.unwrap().1, body.as_bytes());

    let wrong = send(
        &chain,
        "POST",
        "/items",
        &[("cookie", &cookie), form, origin],
        "_csrf=nope",
    )
    .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(wrong.detail().contains("(match)"));

    let large = format!("{body}&pad={}", "x".repeat(300));
    let too_large = send(
        &chain,
        "POST",
        "/items",
        &[("cookie", &cookie), form, origin],
        &large,
    )
    .await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(too_large.detail().contains("X-CSRF-Token header"));

    // Only url-encoded forms are read; a JSON body must use the header.
    let json = ("content-type", "application/json");
    let out = send(
        &chain,
        "POST",
        "/items",
        &[("cookie", &cookie), json, origin],
        &body,
    )
    .await;
    assert_eq!(out.status, StatusCode::FORBIDDEN);
    assert!(out.detail().contains("(token)"));
}

#[tokio::test]
async fn safe_methods_and_exempt_paths_are_configurable() {
    let chain = csrf(&CsrfConfig {
        safe_methods: Some(vec!["get".into(), "PROPFIND".into()]),
        exempt_paths: vec!["/webhooks/".into()],
        ..config()
    });
    let propfind = send(&chain, "PROPFIND", "/dav", &[], "").await;
    assert_eq!(propfind.status, StatusCode::OK);
    // HEAD is no longer listed, so it is checked.
    let head = send(&chain, "HEAD", "/", &[], "").await;
    assert_eq!(head.status, StatusCode::FORBIDDEN);
    let hook = send(
        &chain,
        "POST",
        "/webhooks/stripe",
        &[("origin", "https://stripe.example")],
        "{}",
    )
    .await;
    assert_eq!(hook.status, StatusCode::OK);
    assert_eq!(hook.handler.unwrap().0, None, "exempt paths get no token");
    assert!(hook.headers.get("set-cookie").is_none());
    let near = send(&chain, "POST", "/webhooksx", &[], "").await;
    assert_eq!(near.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sessions_and_csrf_run_together() {
    let session = Session::new(&SessionConfig {
        secret: SECRET.to_vec(),
        ..SessionConfig::default()
    })
    .unwrap();
    let chain = chain(vec![Csrf::new(&config()).unwrap().into(), session.into()]);
    assert_eq!(chain.layers()[0].name(), "session");
    assert_eq!(chain.layers()[1].name(), "CSRF");
    let request = http::Request::builder()
        .uri("/login")
        .header("host", "app.example")
        .body(RequestBody::empty())
        .unwrap();
    let response = chain
        .run(request, None, |request: Request| async move {
            let session = request.extensions().get::<SessionHandle>().unwrap();
            session.insert("visits", json!(1)).unwrap();
            assert!(request.extensions().get::<CsrfToken>().is_some());
            Response::new(ResponseBody::full(Bytes::new()))
        })
        .await;
    let cookies: Vec<&str> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(cookies.iter().any(|c| c.starts_with("__Host-csrf=")));
    assert!(cookies.iter().any(|c| c.starts_with("session_id=")));
}

#[test]
fn bad_configurations_are_refused_with_advice() {
    let error = |config: CsrfConfig| Csrf::new(&config).unwrap_err().to_string();
    assert!(error(CsrfConfig::default()).contains("CSRF secret must be at least 32 bytes"));
    assert!(error(CsrfConfig {
        cookie_secure: false,
        ..config()
    })
    .contains("__Host-"));
    assert!(Csrf::new(&CsrfConfig {
        cookie_secure: false,
        cookie_name: "csrf".into(),
        ..config()
    })
    .is_ok());
    assert!(error(CsrfConfig {
        allowed_origins: Some(vec!["*".into()]),
        ..config()
    })
    .contains("every site"));
    assert!(error(CsrfConfig {
        header_name: "X CSRF".into(),
        ..config()
    })
    .contains("header"));
    assert!(error(CsrfConfig {
        safe_methods: Some(vec!["GE T".into()]),
        ..config()
    })
    .contains("not an HTTP method"));
    assert!(error(CsrfConfig {
        exempt_paths: vec!["webhooks".into()],
        ..config()
    })
    .contains("must start with"));
    assert!(!format!("{:?}", config()).contains("another secret"));
}
