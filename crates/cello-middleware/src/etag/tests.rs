use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;
use cello_http::{Request, Response, ResponseBody};
use http::{HeaderMap, StatusCode};
use http_body::{Body, Frame};

use super::{Etag, EtagConfig};
use crate::test_support::{chain, request};
use crate::Chain;

fn etag(weak: bool) -> Chain {
    chain(vec![Etag::new(&EtagConfig { weak }).unwrap().into()])
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    called: bool,
}

/// Runs `request` through `chain` over a handler answering `make()`.
async fn answer(chain: &Chain, request: Request, make: impl FnOnce() -> Response) -> Answer {
    let called = Rc::new(Cell::new(false));
    let flag = called.clone();
    let response = chain
        .run(request, None, |_request| async move {
            flag.set(true);
            make()
        })
        .await;
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.collect_bytes().await.unwrap(),
        called: called.get(),
    }
}

fn page() -> Response {
    let mut response = Response::new(ResponseBody::full(Bytes::from_static(b"<p>hello</p>")));
    let headers = response.headers_mut();
    headers.insert("content-type", "text/html".parse().unwrap());
    headers.insert("content-length", "12".parse().unwrap());
    headers.insert("cache-control", "max-age=60".parse().unwrap());
    headers.insert("vary", "Accept-Language".parse().unwrap());
    headers.insert("expires", "Thu, 01 Jan 2037 00:00:00 GMT".parse().unwrap());
    headers.insert("content-location", "/page.en".parse().unwrap());
    headers.insert("set-cookie", "seen=1".parse().unwrap());
    headers.insert("x-custom", "dropped on a 304".parse().unwrap());
    response
}

fn with(status: StatusCode, response: Response) -> Response {
    let mut response = response;
    *response.status_mut() = status;
    response
}

/// A streamed body of one chunk.
struct OneChunk(Option<Bytes>);

impl Body for OneChunk {
    type Data = Bytes;
    type Error = cello_http::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.get_mut().0.take().map(|chunk| Ok(Frame::data(chunk))))
    }
}

fn streamed() -> Response {
    Response::new(ResponseBody::stream(OneChunk(Some(Bytes::from_static(
        b"chunk",
    )))))
}

async fn tag_of_page(chain: &Chain) -> String {
    let out = answer(chain, request("GET", "/", &[]), page).await;
    out.headers["etag"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn in_memory_200s_to_get_and_head_get_a_strong_tag_of_their_bytes() {
    let chain = etag(false);
    let tag = tag_of_page(&chain).await;
    assert!(
        tag.starts_with('"') && tag.ends_with('"') && tag.len() == 24,
        "{tag}"
    );
    assert_eq!(
        tag_of_page(&chain).await,
        tag,
        "the same bytes, the same tag"
    );
    let head = answer(&chain, request("HEAD", "/", &[]), page).await;
    assert_eq!(head.headers["etag"], tag.as_str());
    let other = answer(&chain, request("GET", "/", &[]), || {
        Response::new(ResponseBody::full("<p>bye</p>"))
    })
    .await;
    assert_ne!(other.headers["etag"], tag.as_str());
}

#[tokio::test]
async fn weak_tags_on_request() {
    let tag = tag_of_page(&etag(true)).await;
    assert!(tag.starts_with("W/\""), "{tag}");
}

#[tokio::test]
async fn no_tag_for_streams_other_methods_other_statuses_or_a_handler_s_own() {
    let chain = etag(false);
    let stream = answer(&chain, request("GET", "/", &[]), streamed).await;
    assert!(stream.headers.get("etag").is_none());
    assert_eq!(stream.body, "chunk");
    let post = answer(&chain, request("POST", "/", &[]), page).await;
    assert!(post.headers.get("etag").is_none());
    let missing = answer(&chain, request("GET", "/", &[]), || {
        with(StatusCode::NOT_FOUND, page())
    })
    .await;
    assert!(missing.headers.get("etag").is_none());
    let own = answer(&chain, request("GET", "/", &[]), || {
        let mut response = page();
        response
            .headers_mut()
            .insert("etag", "\"v7\"".parse().unwrap());
        response
    })
    .await;
    assert_eq!(own.headers["etag"], "\"v7\"");
}

#[tokio::test]
async fn a_matching_if_none_match_is_a_304_with_the_cache_headers_only() {
    let chain = etag(false);
    let tag = tag_of_page(&chain).await;
    let weak = format!("W/{tag}");
    let listed = format!("\"other\", {tag}");
    for (header, sent_back) in [
        (tag.as_str(), tag.as_str()),
        (listed.as_str(), tag.as_str()),
        ("*", tag.as_str()),
        // a compressing layer or proxy weakened our tag: the 304 carries the client's form
        (weak.as_str(), weak.as_str()),
    ] {
        for method in ["GET", "HEAD"] {
            let conditional = request(method, "/", &[("if-none-match", header)]);
            let out = answer(&chain, conditional, page).await;
            assert!(out.called, "the handler still runs");
            assert_eq!(out.status, StatusCode::NOT_MODIFIED, "{method} {header}");
            assert!(out.body.is_empty());
            let h = &out.headers;
            assert_eq!(h["etag"], sent_back);
            assert_eq!(h["cache-control"], "max-age=60");
            assert_eq!(h["vary"], "Accept-Language");
            assert_eq!(h["expires"], "Thu, 01 Jan 2037 00:00:00 GMT");
            assert_eq!(h["content-location"], "/page.en");
            assert_eq!(h["set-cookie"], "seen=1");
            for dropped in ["content-type", "content-length", "x-custom"] {
                assert!(h.get(dropped).is_none(), "{dropped} on a 304");
            }
        }
    }
    let stale = request("GET", "/", &[("if-none-match", "\"old\", W/\"older\"")]);
    let out = answer(&chain, stale, page).await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.body, "<p>hello</p>");
}

#[tokio::test]
async fn if_modified_since_and_streams_with_the_handler_s_validators() {
    let chain = etag(false);
    let dated = || {
        let mut response = streamed();
        let headers = response.headers_mut();
        headers.insert(
            "last-modified",
            "Wed, 01 May 2024 10:00:00 GMT".parse().unwrap(),
        );
        headers.insert("etag", "\"s1\"".parse().unwrap());
        response
    };
    let since = request(
        "GET",
        "/",
        &[("if-modified-since", "Wed, 01 May 2024 10:00:00 GMT")],
    );
    let out = answer(&chain, since, dated).await;
    assert_eq!(out.status, StatusCode::NOT_MODIFIED);
    assert_eq!(
        out.headers["last-modified"],
        "Wed, 01 May 2024 10:00:00 GMT"
    );
    assert!(out.body.is_empty(), "the stream is dropped");
    let before = request(
        "GET",
        "/",
        &[("if-modified-since", "Tue, 30 Apr 2024 10:00:00 GMT")],
    );
    assert_eq!(answer(&chain, before, dated).await.status, StatusCode::OK);
    // If-None-Match wins over If-Modified-Since
    let both = request(
        "GET",
        "/",
        &[
            ("if-none-match", "\"s0\""),
            ("if-modified-since", "Wed, 01 May 2024 10:00:00 GMT"),
        ],
    );
    assert_eq!(answer(&chain, both, dated).await.status, StatusCode::OK);
    let tagged = request("GET", "/", &[("if-none-match", "\"s1\"")]);
    assert_eq!(
        answer(&chain, tagged, dated).await.status,
        StatusCode::NOT_MODIFIED
    );
}

#[tokio::test]
async fn a_failed_if_match_on_a_get_is_a_412() {
    let chain = etag(false);
    let tag = tag_of_page(&chain).await;
    let out = answer(
        &chain,
        request("GET", "/", &[("if-match", "\"other\"")]),
        page,
    )
    .await;
    assert_eq!(out.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(out.headers["content-type"], "application/problem+json");
    let body: serde_json::Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(body["status"], 412);
    let holds = answer(&chain, request("GET", "/", &[("if-match", &tag)]), page).await;
    assert_eq!(holds.status, StatusCode::OK);
    let weak = format!("W/{tag}");
    let weak_match = answer(&chain, request("GET", "/", &[("if-match", &weak)]), page).await;
    assert_eq!(
        weak_match.status,
        StatusCode::PRECONDITION_FAILED,
        "If-Match compares strongly"
    );
}

#[tokio::test]
async fn unsafe_methods_and_errors_are_left_to_the_handler() {
    let chain = etag(false);
    // The layer cannot know the state before the change; the handler evaluates
    // `Preconditions` itself. Whatever it answered stands.
    for method in ["PUT", "PATCH", "DELETE", "POST"] {
        let conditional = request(method, "/", &[("if-match", "\"v0\"")]);
        let out = answer(&chain, conditional, page).await;
        assert!(out.called);
        assert_eq!(out.status, StatusCode::OK, "{method}");
    }
    for status in [
        StatusCode::NOT_FOUND,
        StatusCode::FOUND,
        StatusCode::CREATED,
    ] {
        let conditional = request("GET", "/", &[("if-none-match", "*")]);
        let out = answer(&chain, conditional, || with(status, page())).await;
        assert_eq!(out.status, status);
    }
}

#[test]
fn it_is_the_innermost_layer() {
    let layers = Chain::new(vec![
        Etag::new(&EtagConfig::default()).unwrap().into(),
        crate::Cors::new(&crate::CorsConfig::default())
            .unwrap()
            .into(),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(layers.layers().last().unwrap().name(), "ETag");
    assert_eq!(layers.layers().last().unwrap().rank(), 110);
}
