//! Integration tests of the HTTP engine: a real `Server` on a loopback port, driven by
//! a raw `TcpStream` client so every byte the engine writes (and every close) is seen.
//!
//! Each test starts its own server on port 0; all waits are bounded by read timeouts.

#[path = "server/handler.rs"]
mod handler;
#[path = "server/support.rs"]
mod support;

#[path = "server/connection.rs"]
mod connection;
#[path = "server/protocol_limits.rs"]
mod protocol_limits;
#[path = "server/regressions.rs"]
mod regressions;
#[path = "server/request_body.rs"]
mod request_body;
#[path = "server/responses.rs"]
mod responses;
#[path = "server/shutdown.rs"]
mod shutdown;
