//! The no-Python ceiling: a JSON hello served by cello-http alone.
//!
//! `cargo run --release -p cello-http --example hello -- --port 8080 [--host 127.0.0.1]`
//! serves `GET /json` (and every other path) with `{"message":"Hello, World!"}` and
//! `GET /plaintext` with `Hello, World!`, on one current-thread runtime per process.

use std::net::SocketAddr;
use std::rc::Rc;

use bytes::Bytes;
use cello_http::{
    bind_tcp, ConnInfo, Handler, HttpConfig, Request, Response, ResponseBody, Server,
};
use http::header::{HeaderValue, CONTENT_TYPE};

struct Hello;

impl Handler for Hello {
    fn call(
        self: Rc<Self>,
        request: Request,
        _conn: ConnInfo,
    ) -> impl std::future::Future<Output = Response> + 'static {
        let plain = request.uri().path() == "/plaintext";
        async move {
            let (body, content_type) = if plain {
                (Bytes::from_static(b"Hello, World!"), "text/plain")
            } else {
                (
                    Bytes::from_static(br#"{"message":"Hello, World!"}"#),
                    "application/json",
                )
            };
            let mut response = Response::new(ResponseBody::full(body));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
        }
    }
}

fn main() -> std::io::Result<()> {
    let mut host = "127.0.0.1".to_string();
    let mut port = 8080u16;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--host" => host = args.next().expect("--host needs a value"),
            "--port" => {
                port = args
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("--port needs a number");
            }
            other => panic!("unknown argument {other}; use --host and --port"),
        }
    }
    let addr: SocketAddr = format!("{host}:{port}").parse().expect("invalid host/port");
    let config = HttpConfig::default();
    let listener = bind_tcp(addr, true, config.backlog)?;
    println!(
        "cello-http hello listening on http://{}",
        listener.local_addr()?
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(
        &runtime,
        Server::new(config).serve(listener, Rc::new(Hello)),
    )
}
