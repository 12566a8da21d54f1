//! Helpers for the unit tests of the layers: build a request, run a chain over a
//! handler that records whether it was called.

use std::cell::Cell;
use std::rc::Rc;

use bytes::Bytes;
use cello_http::{ConnInfo, Request, RequestBody, Response, ResponseBody};
use http::{HeaderMap, StatusCode};

use crate::chain::{Chain, Layer};

pub(crate) fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request {
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(RequestBody::Full(Bytes::new())).unwrap()
}

pub(crate) fn conn(secure: bool) -> ConnInfo {
    ConnInfo {
        peer: "127.0.0.1:40000".parse().unwrap(),
        local: "127.0.0.1:8000".parse().unwrap(),
        secure,
    }
}

pub(crate) fn chain(layers: Vec<Layer>) -> Chain {
    Chain::new(layers).unwrap().expect("at least one layer")
}

/// What came back, and whether the handler ran.
pub(crate) struct Outcome {
    pub status: StatusCode,
    pub headers: HeaderMap,
    #[allow(dead_code)] // read by the compression tests
    pub body: Bytes,
    pub called: bool,
}

/// Runs `request` through `chain` over a handler answering `status` with `body`.
pub(crate) async fn run(
    chain: &Chain,
    request: Request,
    conn: Option<ConnInfo>,
    status: StatusCode,
    body: &'static str,
) -> Outcome {
    let called = Rc::new(Cell::new(false));
    let flag = called.clone();
    let response = chain
        .run(request, conn, |_request| async move {
            flag.set(true);
            let mut response =
                Response::new(ResponseBody::full(Bytes::from_static(body.as_bytes())));
            *response.status_mut() = status;
            response
        })
        .await;
    let (parts, body) = response.into_parts();
    Outcome {
        status: parts.status,
        headers: parts.headers,
        body: body.collect_bytes().await.unwrap(),
        called: called.get(),
    }
}
