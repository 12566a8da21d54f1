use std::cell::Cell;
use std::time::Duration;

use bytes::Bytes;
use cello_http::{Request, Response, ResponseBody};
use http::{HeaderMap, StatusCode};

use super::{Cache, CacheConfig};
use crate::chain::{Chain, Layer};
use crate::clock::{self, ManualTime};
use crate::compression::{Compression, CompressionConfig};
use crate::request_id::{RequestId, RequestIdConfig};
use crate::test_support::{chain, request};

struct Setup {
    chain: Chain,
    time: ManualTime,
}

impl Setup {
    fn new(config: &CacheConfig) -> Self {
        Self::with(config, Vec::new())
    }

    fn with(config: &CacheConfig, mut others: Vec<Layer>) -> Self {
        let (clock, time) = clock::manual();
        others.push(Cache::new(config).unwrap().with_clock(clock).into());
        Self {
            chain: chain(others),
            time,
        }
    }

    fn cache(&self) -> &Cache {
        self.chain
            .layers()
            .iter()
            .find_map(|layer| match layer {
                Layer::Cache(cache) => Some(cache),
                _ => None,
            })
            .unwrap()
    }

    /// Runs `request` over a handler answering what `answer` makes.
    async fn serve(&self, request: Request, answer: impl FnOnce() -> Response) -> Served {
        let called = Cell::new(false);
        let response = self
            .chain
            .run(request, None, |_| async {
                called.set(true);
                answer()
            })
            .await;
        let (parts, body) = response.into_parts();
        Served {
            status: parts.status,
            headers: parts.headers,
            body: body.collect_bytes().await.unwrap(),
            called: called.get(),
        }
    }

    async fn get(&self, path: &str, body: &'static str) -> Served {
        self.serve(request("GET", path, &[]), || ok(body, &[]))
            .await
    }
}

/// A handler's answer, made afresh for each request.
type Answer = fn() -> Response;

struct Served {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    called: bool,
}

impl Served {
    fn x_cache(&self) -> Option<&str> {
        self.headers.get("x-cache").map(|v| v.to_str().unwrap())
    }
}

fn ok(body: &'static str, headers: &[(&'static str, &'static str)]) -> Response {
    let mut response = Response::new(ResponseBody::full(Bytes::from_static(body.as_bytes())));
    for (name, value) in headers {
        response
            .headers_mut()
            .append(*name, http::HeaderValue::from_static(value));
    }
    response
}

#[tokio::test]
async fn a_miss_is_stored_and_served_until_its_ttl_ends() {
    let setup = Setup::new(&CacheConfig::default());
    let first = setup.get("/items", "one").await;
    assert!(first.called);
    assert_eq!(first.x_cache(), Some("MISS"));
    assert!(first.headers.get("age").is_none());

    setup.time.advance(Duration::from_secs(10));
    let hit = setup.get("/items", "two").await;
    assert!(!hit.called);
    assert_eq!((hit.x_cache(), &hit.body[..]), (Some("HIT"), &b"one"[..]));
    assert_eq!(hit.headers["age"], "10");

    let other_query = setup.get("/items?page=2", "page 2").await;
    assert!(other_query.called, "the query is part of the key");

    setup.time.advance(Duration::from_secs(290));
    let expired = setup.get("/items", "three").await;
    assert!(expired.called);
    assert_eq!(expired.x_cache(), Some("MISS"));
    assert_eq!(&setup.get("/items", "four").await.body[..], b"three");
}

#[tokio::test]
async fn route_ttl_and_tags_are_used_and_hidden_from_the_client() {
    let setup = Setup::new(&CacheConfig::default());
    let tagged = |body| {
        move || {
            ok(
                body,
                &[("x-cache-ttl", "5"), ("x-cache-tags", "users, user:7")],
            )
        }
    };
    let first = setup
        .serve(request("GET", "/users/7", &[]), tagged("seven"))
        .await;
    assert!(first.headers.get("x-cache-ttl").is_none());
    assert!(first.headers.get("x-cache-tags").is_none());
    let hit = setup
        .serve(request("GET", "/users/7", &[]), tagged("again"))
        .await;
    assert_eq!(hit.x_cache(), Some("HIT"));
    assert!(
        hit.headers.get("x-cache-tags").is_none(),
        "not stored either"
    );
    setup.time.advance(Duration::from_secs(5));
    assert!(
        setup
            .serve(request("GET", "/users/7", &[]), tagged("late"))
            .await
            .called
    );

    let zero = || ok("x", &[("x-cache-ttl", "0")]);
    setup.serve(request("GET", "/live", &[]), zero).await;
    assert!(
        setup.serve(request("GET", "/live", &[]), zero).await.called,
        "ttl 0: not stored"
    );
}

#[tokio::test]
async fn invalidation_drops_the_entries_of_a_tag() {
    let setup = Setup::new(&CacheConfig::default());
    let with_tags = |tags: &'static str| move || ok("x", &[("x-cache-tags", tags)]);
    for (path, tags) in [
        ("/users", "users"),
        ("/users/1", "users,user:1"),
        ("/feed", "feed"),
    ] {
        setup
            .serve(request("GET", path, &[]), with_tags(tags))
            .await;
    }
    assert_eq!(setup.cache().memory().len(), 3);
    assert_eq!(
        setup
            .cache()
            .invalidate(&["users", "unknown"])
            .await
            .unwrap(),
        2
    );
    assert_eq!(setup.cache().memory().len(), 1);
    assert!(setup.get("/users/1", "fresh").await.called);
    assert!(!setup.get("/feed", "fresh").await.called);
    setup.cache().clear().await.unwrap();
    assert_eq!(setup.cache().memory().len(), 0);
}

#[tokio::test]
async fn vary_keeps_one_entry_per_value_of_the_named_headers() {
    let setup = Setup::new(&CacheConfig::default());
    let in_language = |language| request("GET", "/", &[("accept-language", language)]);
    let answer = |body| move || ok(body, &[("vary", "Accept-Language")]);
    setup.serve(in_language("en"), answer("hello")).await;
    let french = setup.serve(in_language("fr"), answer("bonjour")).await;
    assert!(french.called);
    let english = setup.serve(in_language("en"), answer("??")).await;
    assert_eq!(
        (english.x_cache(), &english.body[..]),
        (Some("HIT"), &b"hello"[..])
    );
    let french = setup.serve(in_language("fr"), answer("??")).await;
    assert_eq!(&french.body[..], b"bonjour");
    assert!(
        setup
            .serve(request("GET", "/", &[]), answer("none"))
            .await
            .called
    );
}

#[tokio::test]
async fn answers_that_must_not_be_stored_are_not() {
    let cases: [(&str, Answer); 8] = [
        ("/vary-star", || ok("x", &[("vary", "*")])),
        ("/cookie", || ok("x", &[("set-cookie", "a=b")])),
        ("/no-store", || ok("x", &[("cache-control", "no-store")])),
        ("/private", || {
            ok("x", &[("cache-control", "max-age=60, private")])
        }),
        ("/no-cache", || ok("x", &[("cache-control", "no-cache")])),
        ("/missing", || {
            let mut response = ok("x", &[]);
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }),
        ("/moved", || {
            let mut response = ok("", &[("location", "/new")]);
            *response.status_mut() = StatusCode::MOVED_PERMANENTLY;
            response
        }),
        ("/stream", || {
            Response::new(ResponseBody::stream(http_body_util_full("streamed")))
        }),
    ];
    let setup = Setup::new(&CacheConfig::default());
    for (path, answer) in cases {
        let first = setup.serve(request("GET", path, &[]), answer).await;
        assert_eq!(first.x_cache(), Some("MISS"), "{path}");
        assert!(
            setup.serve(request("GET", path, &[]), answer).await.called,
            "{path}"
        );
    }
    assert!(setup.cache().memory().len() == 0);
}

/// A one-chunk streamed body.
fn http_body_util_full(
    text: &'static str,
) -> impl http_body::Body<Data = Bytes, Error = cello_http::BoxError> {
    struct Once(Option<Bytes>);
    impl http_body::Body for Once {
        type Data = Bytes;
        type Error = cello_http::BoxError;
        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
            std::task::Poll::Ready(
                self.get_mut()
                    .0
                    .take()
                    .map(|b| Ok(http_body::Frame::data(b))),
            )
        }
    }
    Once(Some(Bytes::from_static(text.as_bytes())))
}

#[tokio::test]
async fn authenticated_requests_skip_the_cache_unless_asked_and_then_per_user() {
    let anonymous = Setup::new(&CacheConfig::default());
    for headers in [
        [("authorization", "Bearer alice")],
        [("cookie", "theme=dark; session_id=alice")],
    ] {
        for _ in 0..2 {
            let out = anonymous
                .serve(request("GET", "/me", &headers), || ok("alice", &[]))
                .await;
            assert!(out.called);
            assert!(out.x_cache().is_none(), "the cache is not for this request");
        }
    }
    anonymous
        .serve(request("GET", "/me", &[("cookie", "theme=dark")]), || {
            ok("x", &[])
        })
        .await;
    assert_eq!(
        anonymous.cache().memory().len(),
        1,
        "other cookies do not authenticate"
    );

    let per_user = Setup::new(&CacheConfig {
        cache_authenticated: true,
        ..CacheConfig::default()
    });
    let as_user = |token| request("GET", "/me", &[("authorization", token)]);
    per_user
        .serve(as_user("Bearer alice"), || ok("alice", &[]))
        .await;
    let bob = per_user
        .serve(as_user("Bearer bob"), || ok("bob", &[]))
        .await;
    assert!(bob.called, "never another user's entry");
    let alice = per_user
        .serve(as_user("Bearer alice"), || ok("?", &[]))
        .await;
    assert_eq!(
        (alice.x_cache(), &alice.body[..]),
        (Some("HIT"), &b"alice"[..])
    );
}

#[tokio::test]
async fn request_cache_control_revalidates_or_bypasses() {
    let setup = Setup::new(&CacheConfig::default());
    setup.get("/", "old").await;
    let revalidated = setup
        .serve(
            request("GET", "/", &[("cache-control", "no-cache")]),
            || ok("new", &[]),
        )
        .await;
    assert!(revalidated.called);
    assert_eq!(revalidated.x_cache(), Some("MISS"));
    assert_eq!(
        &setup.get("/", "?").await.body[..],
        b"new",
        "the fresh answer was stored"
    );

    let no_store = setup
        .serve(
            request("GET", "/", &[("cache-control", "no-store")]),
            || ok("private", &[]),
        )
        .await;
    assert!(no_store.called);
    assert!(no_store.x_cache().is_none());
    assert_eq!(&setup.get("/", "?").await.body[..], b"new");
}

#[tokio::test]
async fn head_is_answered_from_the_get_entry() {
    let setup = Setup::new(&CacheConfig::default());
    let head = setup
        .serve(request("HEAD", "/doc", &[]), || ok("", &[]))
        .await;
    assert!(head.called);
    assert_eq!(head.x_cache(), Some("MISS"));
    assert!(
        setup.cache().memory().len() == 0,
        "a HEAD answer is not stored"
    );
    setup.get("/doc", "twelve bytes").await;
    let head = setup
        .serve(request("HEAD", "/doc", &[]), || ok("", &[]))
        .await;
    assert!(!head.called);
    assert_eq!(head.x_cache(), Some("HIT"));
    assert!(head.body.is_empty());
    assert_eq!(head.headers["content-length"], "12");
}

#[tokio::test]
async fn if_none_match_on_a_cached_etag_is_a_304() {
    let setup = Setup::new(&CacheConfig::default());
    let tagged = || {
        ok(
            "body",
            &[("etag", "\"v1\""), ("cache-control", "max-age=60")],
        )
    };
    setup.serve(request("GET", "/e", &[]), tagged).await;
    let conditional = |tag| request("GET", "/e", &[("if-none-match", tag)]);
    let out = setup.serve(conditional("W/\"v0\", W/\"v1\""), tagged).await;
    assert!(!out.called);
    assert_eq!(out.status, StatusCode::NOT_MODIFIED);
    assert!(out.body.is_empty());
    assert_eq!(out.headers["etag"], "\"v1\"");
    assert_eq!(out.headers["cache-control"], "max-age=60");
    assert_eq!(out.x_cache(), Some("HIT"));
    let out = setup.serve(conditional("\"v2\""), tagged).await;
    assert_eq!((out.status, &out.body[..]), (StatusCode::OK, &b"body"[..]));
}

#[tokio::test]
async fn excluded_paths_and_other_methods_pass_through() {
    let setup = Setup::new(&CacheConfig {
        exclude_paths: vec!["/admin".into()],
        ..CacheConfig::default()
    });
    for _ in 0..2 {
        let admin = setup.get("/admin/users", "x").await;
        assert!(admin.called && admin.x_cache().is_none());
        let post = setup
            .serve(request("POST", "/items", &[]), || ok("x", &[]))
            .await;
        assert!(post.called && post.x_cache().is_none());
    }
    assert!(setup.cache().memory().len() == 0);
}

#[tokio::test]
async fn the_cache_is_bounded_least_recently_used_first() {
    let setup = Setup::new(&CacheConfig {
        max_entries: 2,
        max_entry_size: 200,
        max_size: 2000,
        ..CacheConfig::default()
    });
    setup.get("/a", "a").await;
    setup.get("/b", "b").await;
    assert!(
        !setup.get("/a", "a").await.called,
        "a is now the most recent"
    );
    setup.get("/c", "c").await;
    assert_eq!(setup.cache().memory().len(), 2);
    assert!(
        setup.get("/b", "b").await.called,
        "b was the least recently used"
    );

    let large = "x".repeat(300).leak();
    setup.get("/large", large).await;
    assert!(
        setup.get("/large", large).await.called,
        "over max_entry_size"
    );
}

#[tokio::test]
async fn a_byte_budget_bounds_the_cache_too() {
    let setup = Setup::new(&CacheConfig {
        max_entry_size: 1000,
        max_size: 2000,
        ..CacheConfig::default()
    });
    let body: &'static str = "y".repeat(600).leak();
    for path in ["/1", "/2", "/3", "/4"] {
        setup.get(path, body).await;
    }
    assert!(setup.cache().memory().len() < 4);
    assert!(setup.cache().memory().bytes() <= 2000);
    assert!(!setup.get("/4", body).await.called, "the newest stays");
}

#[tokio::test]
async fn a_hit_still_passes_through_the_outer_layers() {
    let setup = Setup::with(
        &CacheConfig::default(),
        vec![RequestId::new(&RequestIdConfig::default()).unwrap().into()],
    );
    let first = setup.get("/", "x").await;
    let hit = setup.get("/", "x").await;
    assert_eq!(hit.x_cache(), Some("HIT"));
    assert_ne!(
        first.headers["x-request-id"], hit.headers["x-request-id"],
        "each answer has the id of its own request, not the stored one's"
    );
}

#[tokio::test]
async fn compressed_answers_are_kept_per_accept_encoding() {
    let setup = Setup::with(
        &CacheConfig::default(),
        vec![Compression::new(&CompressionConfig::default())
            .unwrap()
            .into()],
    );
    let page: &'static str = "<p>hello</p>".repeat(200).leak();
    let accepting = |coding| request("GET", "/page", &[("accept-encoding", coding)]);
    let gzip = setup.serve(accepting("gzip"), || ok(page, &[])).await;
    assert_eq!(gzip.headers["content-encoding"], "gzip");
    let plain = setup
        .serve(request("GET", "/page", &[]), || ok(page, &[]))
        .await;
    assert!(plain.called, "another variant of the same URL");
    assert!(plain.headers.get("content-encoding").is_none());
    let hit = setup.serve(accepting("gzip"), || ok(page, &[])).await;
    assert_eq!(hit.x_cache(), Some("HIT"));
    assert_eq!(hit.headers["content-encoding"], "gzip");
    assert_eq!(hit.body, gzip.body);
    let hit = setup
        .serve(request("GET", "/page", &[]), || ok(page, &[]))
        .await;
    assert_eq!(
        (hit.x_cache(), &hit.body[..]),
        (Some("HIT"), page.as_bytes())
    );
}

#[test]
fn bad_configurations_are_refused_with_a_reason() {
    let cases = [
        (
            CacheConfig {
                ttl: Duration::ZERO,
                ..CacheConfig::default()
            },
            "ttl must be more than 0",
        ),
        (
            CacheConfig {
                methods: vec!["GET".into(), "POST".into()],
                ..CacheConfig::default()
            },
            "\"POST\" cannot be cached",
        ),
        (
            CacheConfig {
                methods: vec!["HEAD".into()],
                ..CacheConfig::default()
            },
            "must include \"GET\"",
        ),
        (
            CacheConfig {
                exclude_paths: vec!["admin".into()],
                ..CacheConfig::default()
            },
            "must start with \"/\"",
        ),
        (
            CacheConfig {
                max_entries: 0,
                ..CacheConfig::default()
            },
            "at least 1",
        ),
        (
            CacheConfig {
                max_size: 10,
                ..CacheConfig::default()
            },
            "smaller than max_entry_size",
        ),
        (
            CacheConfig {
                session_cookies: vec!["a=b".into()],
                ..CacheConfig::default()
            },
            "not a cookie name",
        ),
    ];
    for (config, message) in cases {
        let error = Cache::new(&config).unwrap_err().to_string();
        assert!(error.contains(message), "{error:?} lacks {message:?}");
    }
    let lower_case = CacheConfig {
        methods: vec!["get".into()],
        ..CacheConfig::default()
    };
    assert!(Cache::new(&lower_case).is_ok());
}
