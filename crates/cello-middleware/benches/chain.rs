//! The cost per request of running a chain in front of a handler that answers at once:
//! one layer at a time and the stack of the headers-only layers together; and the
//! compression layer on a 16 KiB JSON body, per coding.

use bytes::Bytes;
use cello_http::{Request, RequestBody, Response, ResponseBody};
use cello_middleware::{
    Chain, Compression, CompressionConfig, Cors, CorsConfig, Layer, RequestId, RequestIdConfig,
    SecurityHeaders, SecurityHeadersConfig,
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

/// About 16 KiB of JSON as an API returns it: a page of records.
fn json_page() -> Bytes {
    let mut records = Vec::new();
    let mut length = 2;
    let mut id = 0u32;
    while length < 16 * 1024 {
        let record = serde_json::json!({
            "id": id,
            "name": format!("Item {id}"),
            "email": format!("user{id}@example.com"),
            "price": f64::from(id) * 1.25,
            "tags": ["alpha", "beta", if id % 3 == 0 { "sale" } else { "new" }],
            "active": id % 2 == 0,
        });
        length += record.to_string().len() + 1;
        records.push(record);
        id += 1;
    }
    Bytes::from(serde_json::to_vec(&records).unwrap())
}

fn compression_request(accept: Option<&str>) -> Request {
    let mut builder = http::Request::builder().uri("/items");
    if let Some(accept) = accept {
        builder = builder.header("accept-encoding", accept);
    }
    builder.body(RequestBody::Full(Bytes::new())).unwrap()
}

fn bench_compression(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let chain = Chain::new(vec![Compression::new(&CompressionConfig::default())
        .unwrap()
        .into()])
    .unwrap()
    .unwrap();
    let page = json_page();
    let answer = |body: Bytes| {
        let mut response = Response::new(ResponseBody::full(body));
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        response
    };
    let run = |accept: Option<&str>, body: Bytes| {
        runtime.block_on(chain.run(compression_request(accept), None, |_| async {
            answer(body)
        }))
    };
    // The sizes each coding makes of the page, for the record (levels: the defaults).
    let sizes: Vec<String> = [None, Some("gzip"), Some("br"), Some("zstd")]
        .into_iter()
        .map(|accept| {
            let response = run(accept, page.clone());
            let size = response.into_body().into_full().unwrap().len();
            format!("{}: {size} bytes", accept.unwrap_or("identity"))
        })
        .collect();
    eprintln!("compression of the 16 KiB JSON page: {}", sizes.join(", "));
    let cases = [
        ("compression/gzip (16 KiB JSON)", Some("gzip"), page.clone()),
        ("compression/br (16 KiB JSON)", Some("br"), page.clone()),
        ("compression/zstd (16 KiB JSON)", Some("zstd"), page.clone()),
        // Negotiation and Vary only: the client accepts no coding.
        ("compression/identity (16 KiB JSON)", None, page),
        // The common small answer, under min_size.
        (
            "compression/skipped (2-byte body)",
            Some("gzip, deflate, br, zstd"),
            Bytes::from_static(b"{}"),
        ),
    ];
    for (name, accept, body) in cases {
        c.bench_function(name, |b| {
            b.iter(|| run(accept, body.clone()));
        });
    }
}

criterion_group!(benches, bench, bench_compression);
criterion_main!(benches);
