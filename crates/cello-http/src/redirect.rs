//! The plain-HTTP listener that sends every request to the HTTPS one.

use std::rc::Rc;

use http::header::{HeaderValue, HOST, LOCATION};
use http::StatusCode;

use crate::body::ResponseBody;
use crate::server::{ConnInfo, Handler};
use crate::{Request, Response};

/// Answers every request with `308 Permanent Redirect` to the same path and query
/// on `https://<host>:<https_port>` (the method and body are kept by clients).
#[derive(Clone, Copy, Debug)]
pub struct RedirectToHttps {
    /// The port the HTTPS listener is on.
    pub https_port: u16,
}

impl RedirectToHttps {
    /// Where `request` should go.
    pub fn location(&self, request: &Request) -> String {
        let host = request
            .uri()
            .host()
            .map(str::to_owned)
            .or_else(|| {
                request
                    .headers()
                    .get(HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(|h| {
                        // Drop the port of the plain listener; keep IPv6 brackets.
                        match h.rfind(':') {
                            Some(colon) if !h[colon..].contains(']') => h[..colon].to_owned(),
                            _ => h.to_owned(),
                        }
                    })
            })
            .unwrap_or_else(|| "localhost".to_owned());
        let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
        if self.https_port == 443 {
            format!("https://{host}{path}")
        } else {
            format!("https://{host}:{}{path}", self.https_port)
        }
    }
}

impl Handler for RedirectToHttps {
    async fn call(self: Rc<Self>, request: Request, _conn: ConnInfo) -> Response {
        let mut response = Response::new(ResponseBody::Empty);
        *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
        if let Ok(location) = HeaderValue::from_str(&self.location(&request)) {
            response.headers_mut().insert(LOCATION, location);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RequestBody;

    fn request(host: &str, target: &str) -> Request {
        http::Request::builder()
            .uri(target)
            .header(HOST, host)
            .body(RequestBody::empty())
            .unwrap()
    }

    #[test]
    fn keeps_path_and_query_and_swaps_the_port() {
        let redirect = RedirectToHttps { https_port: 8443 };
        assert_eq!(
            redirect.location(&request("example.com:8080", "/a/b?c=1")),
            "https://example.com:8443/a/b?c=1"
        );
        assert_eq!(
            redirect.location(&request("[::1]:8080", "/")),
            "https://[::1]:8443/"
        );
        let standard = RedirectToHttps { https_port: 443 };
        assert_eq!(
            standard.location(&request("example.com", "/x")),
            "https://example.com/x"
        );
    }
}
