//! The options of the CSRF layer.

use std::fmt;

/// Options of the CSRF layer; the defaults are the original framework's, plus a
/// `secret`, which has none and must be given.
#[derive(Clone)]
pub struct CsrfConfig {
    /// The cookie that carries the token. The default's `__Host-` prefix makes browsers
    /// refuse it unless it is `Secure`, on `Path=/` and without `Domain`, so that no
    /// other host (a sibling subdomain) can set it.
    pub cookie_name: String,
    /// The request header a script sends the token in.
    pub header_name: String,
    /// Methods that change nothing, checked by no one; `None` (the default): GET, HEAD,
    /// OPTIONS and TRACE.
    pub safe_methods: Option<Vec<String>>,
    /// Origins besides the request's own that may send unsafe requests
    /// (`https://app.example.com`, scheme and host, no path). Behind a proxy that
    /// terminates TLS, the public `https://` origin goes here.
    pub allowed_origins: Option<Vec<String>>,
    /// The key that signs the tokens: at least 32 bytes, the same in every worker.
    pub secret: Vec<u8>,
    /// Paths never checked (webhooks called by other servers): each one and the paths
    /// under it.
    pub exempt_paths: Vec<String>,
    /// The field of an `application/x-www-form-urlencoded` body the token may come in,
    /// when the header is absent (an HTML form cannot set headers).
    pub form_field: String,
    /// The largest form body read to find the field, in bytes; larger forms must send
    /// the header.
    pub max_form_size: usize,
    /// Whether the cookie is `Secure`. Must stay on with a `__Host-` name; browsers
    /// accept `Secure` cookies on `http://localhost`.
    pub cookie_secure: bool,
}

impl Default for CsrfConfig {
    fn default() -> Self {
        Self {
            cookie_name: "__Host-csrf".into(),
            header_name: "X-CSRF-Token".into(),
            safe_methods: None,
            allowed_origins: None,
            secret: Vec::new(),
            exempt_paths: Vec::new(),
            form_field: "_csrf".into(),
            max_form_size: 64 * 1024,
            cookie_secure: true,
        }
    }
}

impl fmt::Debug for CsrfConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfConfig")
            .field("cookie_name", &self.cookie_name)
            .field("header_name", &self.header_name)
            .field("safe_methods", &self.safe_methods)
            .field("allowed_origins", &self.allowed_origins)
            .field(
                "secret",
                &format_args!("<{} bytes, redacted>", self.secret.len()),
            )
            .field("exempt_paths", &self.exempt_paths)
            .field("form_field", &self.form_field)
            .field("max_form_size", &self.max_form_size)
            .field("cookie_secure", &self.cookie_secure)
            .finish()
    }
}
