//! HTTP/1.1 and HTTP/2 (prior knowledge, when the input opens with the preface) through
//! the engine's own connection driver over an in-memory pipe
//! (`cello_http::fuzzing::serve_bytes`): hyper with Cello's patches and every limit of
//! `HttpConfig` (small ones here), and a handler that buffers the body
//! (`RequestBody::buffer`) and reads urlencoded or multipart forms the way the Python
//! binding does. Invariants: no body larger than `max_body_size` reaches the handler,
//! a refused body or form is a 4xx, no answer is a 500, and the connection always
//! ends once the client has closed.
#![no_main]

use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use cello_http::multipart::{boundary, parse_urlencoded, FormLimits};
use cello_http::{
    BodyChunks, Buffered, ConnInfo, Handler, HttpConfig, Request, Response, ResponseBody,
};
use libfuzzer_sys::fuzz_target;

const MAX_BODY: usize = 8 * 1024;

struct Forms {
    limits: FormLimits,
}

impl Handler for Forms {
    fn call(
        self: Rc<Self>,
        request: Request,
        _conn: ConnInfo,
    ) -> impl Future<Output = Response> + 'static {
        async move {
            let (parts, body) = request.into_parts();
            let content_type = parts
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let buffered = match body.buffer(1024, MAX_BODY, Duration::from_secs(5)).await {
                Ok(buffered) => buffered,
                Err(error) => {
                    assert!(error.status().is_client_error(), "{error}");
                    return error.to_response();
                }
            };
            let chunks = match buffered {
                Buffered::Complete(bytes) => {
                    assert!(bytes.len() <= MAX_BODY, "a {} byte body", bytes.len());
                    if content_type.starts_with("application/x-www-form-urlencoded") {
                        let _ = parse_urlencoded(&bytes);
                    }
                    BodyChunks::from_bytes(bytes)
                }
                Buffered::Partial(chunks) => chunks,
            };
            let answer = match boundary(&content_type) {
                Some(boundary) => {
                    match cello_fuzz::read_and_check_multipart(chunks, &boundary, &self.limits)
                        .await
                    {
                        Ok(parts) => format!("{parts} parts"),
                        Err(error) => return error.to_response(),
                    }
                }
                None => match drain(chunks).await {
                    Ok(size) => format!("{size} bytes"),
                    Err(response) => return response,
                },
            };
            Response::new(ResponseBody::full(Bytes::from(answer)))
        }
    }
}

async fn drain(mut chunks: BodyChunks) -> Result<usize, Response> {
    let mut size = 0;
    loop {
        match chunks.next_chunk().await {
            Ok(Some(chunk)) => size += chunk.len(),
            Ok(None) => return Ok(size),
            Err(error) => {
                assert!(error.status().is_client_error(), "{error}");
                return Err(error.to_response());
            }
        }
    }
}

struct State {
    runtime: tokio::runtime::Runtime,
    handler: Rc<Forms>,
    config: HttpConfig,
    _temp: tempfile::TempDir,
}

thread_local! {
    static STATE: State = {
        let temp = tempfile::tempdir().expect("a temporary directory");
        State {
            runtime: cello_fuzz::runtime(),
            handler: Rc::new(Forms { limits: cello_fuzz::form_limits(temp.path().to_owned()) }),
            config: HttpConfig {
                max_header_size: 2048,
                max_body_size: MAX_BODY,
                header_read_timeout: Duration::from_secs(5),
                keep_alive_timeout: Duration::from_secs(5),
                body_read_timeout: Duration::from_secs(5),
                http2_max_concurrent_streams: 8,
                http2_stream_window: 16 * 1024,
                http2_connection_window: 64 * 1024,
                ..HttpConfig::default()
            },
            _temp: temp,
        }
    };
}

fuzz_target!(|data: &[u8]| {
    STATE.with(|state| {
        let local = tokio::task::LocalSet::new();
        let output = state
            .runtime
            .block_on(local.run_until(cello_http::fuzzing::serve_bytes(
                state.handler.clone(),
                &state.config,
                data,
            )));
        assert!(
            !output.windows(13).any(|w| w == b"HTTP/1.1 500 "),
            "a 500 answer: {}",
            String::from_utf8_lossy(&output)
        );
    });
});
