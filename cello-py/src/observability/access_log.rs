//! The engine's own access log (`app.run(logs=True)` without `app.enable_logging()`):
//! one line a request on stderr, written from Rust.

use std::io::Write;
use std::time::Duration;

use cello_http::{ConnInfo, Response};

/// `INFO <peer> "<method> <target>" <status> <ms>ms [id=<request id>]`.
pub(crate) fn access_log(
    conn: &ConnInfo,
    method: &http::Method,
    uri: &http::Uri,
    response: &Response,
    elapsed: Duration,
) {
    let mut stderr = std::io::stderr().lock();
    let _ = write!(
        stderr,
        "INFO {} \"{} {}\" {} {:.2}ms",
        conn.peer,
        method,
        uri.path_and_query().map_or("/", |p| p.as_str()),
        response.status().as_u16(),
        elapsed.as_secs_f64() * 1000.0
    );
    // The request-id middleware's id, so a log line can be matched to an error body.
    let request_id = response.headers().get("x-request-id");
    if let Some(id) = request_id.and_then(|id| id.to_str().ok()) {
        let _ = write!(stderr, " id={id}");
    }
    let _ = writeln!(stderr);
}
