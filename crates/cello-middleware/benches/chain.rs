//! The cost per request of running a chain in front of a handler that answers at once:
//! one layer at a time and the stack of the headers-only layers together.

use bytes::Bytes;
use cello_http::{Request, RequestBody, Response, ResponseBody};
use cello_middleware::{
    Chain, Cors, CorsConfig, Layer, RequestId, RequestIdConfig, SecurityHeaders,
    SecurityHeadersConfig,
};
use criterion::{criterion_group, criterion_main, Criterion};

fn request() -> Request {
    http::Request::builder()
        .uri("/items/7")
        .header("origin", "https://app.example")
        .header("accept-encoding", "gzip, br")
        .body(RequestBody::Full(Bytes::new()))
        .unwrap()
}

fn cors() -> Layer {
    Cors::new(&CorsConfig {
        origins: vec!["https://app.example".into()],
        ..CorsConfig::default()
    })
    .unwrap()
    .into()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let stacks: Vec<(&str, Vec<Layer>)> = vec![
        ("cors", vec![cors()]),
        (
            "security_headers",
            vec![SecurityHeaders::new(&SecurityHeadersConfig::default())
                .unwrap()
                .into()],
        ),
        (
            "request_id",
            vec![RequestId::new(&RequestIdConfig::default()).unwrap().into()],
        ),
        (
            "headers_stack",
            vec![
                cors(),
                SecurityHeaders::new(&SecurityHeadersConfig::default())
                    .unwrap()
                    .into(),
                RequestId::new(&RequestIdConfig::default()).unwrap().into(),
            ],
        ),
    ];
    for (name, layers) in stacks {
        let chain = Chain::new(layers).unwrap().unwrap();
        c.bench_function(&format!("chain/{name}"), |b| {
            b.iter(|| {
                runtime.block_on(chain.run(request(), None, |_| async {
                    Response::new(ResponseBody::full(Bytes::from_static(b"{}")))
                }))
            });
        });
    }
    c.bench_function("chain/none (request + handler only)", |b| {
        b.iter(|| {
            let _request = request();
            Response::new(ResponseBody::full(Bytes::from_static(b"{}")))
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
