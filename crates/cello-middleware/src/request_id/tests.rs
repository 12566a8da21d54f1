use bytes::Bytes;
use cello_http::{problem_response, Response, ResponseBody};
use http::StatusCode;

use super::{is_valid, RequestId, RequestIdConfig, RequestIdValue};
use crate::test_support::{chain, request, run};

fn layer() -> crate::Chain {
    chain(vec![RequestId::new(&RequestIdConfig::default())
        .unwrap()
        .into()])
}

#[tokio::test]
async fn a_valid_incoming_id_is_kept_and_echoed() {
    let out = run(
        &layer(),
        request("GET", "/", &[("x-request-id", "abc-123")]),
        None,
        StatusCode::OK,
        "",
    )
    .await;
    assert_eq!(out.headers["x-request-id"], "abc-123");
}

#[tokio::test]
async fn an_invalid_or_missing_id_is_replaced_by_a_uuid() {
    for headers in [vec![("x-request-id", "bad id<script>")], vec![]] {
        let out = run(
            &layer(),
            request("GET", "/", &headers),
            None,
            StatusCode::OK,
            "",
        )
        .await;
        let id = out.headers["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(&id[14..15], "4", "version nibble: {id}");
        assert!(
            matches!(&id[19..20], "8" | "9" | "a" | "b"),
            "variant: {id}"
        );
    }
}

#[tokio::test]
async fn the_handler_sees_the_id_and_problem_bodies_carry_it() {
    let chain = layer();
    let req = request("GET", "/", &[("x-request-id", "req-7")]);
    let response = chain
        .run(req, None, |req| async move {
            let seen = req
                .extensions()
                .get::<RequestIdValue>()
                .unwrap()
                .as_str()
                .to_owned();
            assert_eq!(seen, "req-7");
            problem_response(StatusCode::NOT_FOUND, "nothing here")
        })
        .await;
    let body = response.into_body().collect_bytes().await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["request_id"], "req-7");
    assert_eq!(json["status"], 404);
}

#[tokio::test]
async fn other_bodies_are_untouched() {
    let chain = layer();
    let response = chain
        .run(request("GET", "/", &[]), None, |_| async {
            Response::new(ResponseBody::full(Bytes::from_static(b"{\"a\":1}")))
        })
        .await;
    assert_eq!(
        response.into_body().collect_bytes().await.unwrap(),
        "{\"a\":1}"
    );
}

#[test]
fn validity() {
    assert!(is_valid(b"01J9Z3-trace:ab/cd+ef=@x"));
    assert!(!is_valid(b""));
    assert!(!is_valid(&[b'a'; 129]));
    assert!(!is_valid(b"a b"));
    assert!(!is_valid(b"a\"b"));
}
