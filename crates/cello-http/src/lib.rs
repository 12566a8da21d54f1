//! Cello's HTTP engine, with no Python in it.
//!
//! It accepts connections, speaks HTTP/1.1 through hyper (keep-alive, pipelining,
//! chunked bodies, `Expect: 100-continue`), enforces the limits in [`HttpConfig`]
//! (header size, body size, header/body/idle timeouts) and drains in-flight requests
//! on shutdown. Whatever answers the requests implements [`Handler`]; the crate is
//! built for a single-threaded Tokio runtime (one per worker process), so handlers
//! and their futures need not be `Send`.
//!
//! `cargo run -p cello-http --example hello` serves a pure-Rust JSON hello: the
//! no-Python ceiling the benchmarks compare Cello against.

mod body;
mod config;
mod connection;
pub mod cookies;
mod error;
mod file;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod head;
#[cfg(feature = "http3")]
pub mod http3;
mod listener;
pub mod multipart;
mod redirect;
mod server;
pub mod tls;
pub mod websocket;

pub use body::{BodyChunks, BoxError, Buffered, RequestBody, ResponseBody};
pub use config::HttpConfig;
pub use error::{problem_response, HttpError};
pub use file::FileBody;
pub use head::strip_body;
pub use listener::bind_tcp;
pub use redirect::RedirectToHttps;
pub use server::{ConnInfo, Handler, Server, ShutdownHandle};

/// The request type handlers receive.
pub type Request = http::Request<RequestBody>;
/// The response type handlers return.
pub type Response = http::Response<ResponseBody>;

// Every code block in the README compiles as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
