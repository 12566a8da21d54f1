//! CSRF protection: a signed double-submit token, and a check of where unsafe requests
//! come from.
//!
//! - **Safe requests** (GET, HEAD, OPTIONS, TRACE, or `safe_methods`) pass. They get the
//!   token in their extensions ([`CsrfToken`], masked anew each time) for a template to
//!   put in a form, and a cookie holding it when they have none (or one this server
//!   did not sign): `__Host-csrf=<token>.<signature>; Path=/; Secure; SameSite=Lax`,
//!   readable by scripts, kept until the browser closes.
//! - **Unsafe requests** must pass, in this order, each failure a 403 problem+json
//!   naming the check:
//!   1. *origin*: `Origin`, or without it `Referer`, is the request's own origin (its
//!      `Host` and the scheme it arrived over) or one of `allowed_origins`. A request
//!      with neither header passes this check (browsers send `Origin` on every unsafe
//!      request; programs send neither) and is left to the token: OWASP's advice when
//!      the token is the primary defence. `Origin: null` fails.
//!   2. *cookie*: a token cookie this server signed.
//!   3. *token*: the `X-CSRF-Token` header, or else the `_csrf` field of an
//!      `application/x-www-form-urlencoded` body (read here, up to `max_form_size`, and
//!      put back so the handler reads it too; a larger form must send the header: 413).
//!   4. *match*: the token sent is the cookie's (its value, or a masked token), compared
//!      in constant time.
//! - **Not bound to the session**: a new session id at login would invalidate the token
//!   of every form already on screen. Planting a cookie is what binding would stop; the
//!   `__Host-` prefix stops it in the browser, the signature stops tokens this server
//!   never issued, and the origin check stops a cross-site sender whatever its cookie.
//! - **Exempt paths** are not checked and get no token.

mod config;
mod origin;
#[cfg(test)]
mod tests;
mod token;

use std::time::Duration;

use cello_http::{problem_response, HttpError, Request, RequestBody, Response};
use http::header::{CONNECTION, CONTENT_TYPE, SET_COOKIE};
use http::{HeaderName, HeaderValue, Method, StatusCode};

pub use self::config::CsrfConfig;
use self::origin::Origins;
use self::token::{mask, matches, Tokens};
use crate::chain::Exchange;
use crate::cookie::{CookieSpec, CookieWriter, SameSite};
use crate::error::{header_name, ConfigError};
use crate::secret::SigningKey;

/// How long reading a form body to find its token may take.
const FORM_TIMEOUT: Duration = Duration::from_secs(30);

/// The CSRF token of the request being handled, in its extensions, for a form's hidden
/// `_csrf` field or a page's `<meta>` tag. Masked: a new string each request, every
/// one of which is accepted while the cookie lasts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsrfToken(pub String);

impl CsrfToken {
    /// The token as text (base64url).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The CSRF layer.
#[derive(Debug)]
pub struct Csrf {
    tokens: Tokens,
    cookie: CookieWriter,
    header: HeaderName,
    /// The header's name as configured, for messages (`HeaderName` is lowercase).
    header_label: Box<str>,
    form_field: Box<str>,
    max_form_size: usize,
    safe_methods: Box<[Method]>,
    origins: Origins,
    exempt: Box<[Box<str>]>,
}

impl Csrf {
    /// Validates `config`.
    pub fn new(config: &CsrfConfig) -> Result<Self, ConfigError> {
        let cookie = CookieWriter::new(&CookieSpec {
            what: "CSRF",
            name: &config.cookie_name,
            path: "/",
            domain: None,
            secure: config.cookie_secure,
            // A script reads it to send it back in the header.
            http_only: false,
            same_site: SameSite::Lax,
        })?;
        let safe_methods = match &config.safe_methods {
            None => vec![Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE],
            Some(list) => list
                .iter()
                .map(|name| {
                    Method::from_bytes(name.to_ascii_uppercase().as_bytes()).map_err(|_| {
                        ConfigError::invalid(format!(
                            "CSRF safe_methods: {name:?} is not an HTTP method"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        if config.form_field.is_empty() {
            return Err(ConfigError::invalid(
                "CSRF form_field must not be empty (\"_csrf\" is the default)",
            ));
        }
        Ok(Self {
            tokens: Tokens::new(SigningKey::new("CSRF", &config.secret)?),
            cookie,
            header: header_name("CSRF header_name", &config.header_name)?,
            header_label: config.header_name.as_str().into(),
            form_field: config.form_field.as_str().into(),
            max_form_size: config.max_form_size,
            safe_methods: safe_methods.into_boxed_slice(),
            origins: Origins::new(config.allowed_origins.as_deref())?,
            exempt: exempt_paths(&config.exempt_paths)?,
        })
    }

    pub(crate) async fn before(
        &self,
        request: &mut Request,
        exchange: &mut Exchange,
    ) -> Option<Response> {
        if self.is_exempt(request.uri().path()) {
            return None;
        }
        let mut cookie_sent = false;
        let cookie = self.cookie.values(request.headers()).find_map(|value| {
            cookie_sent = true;
            self.tokens
                .verify_cookie(value)
                .map(|token| (token, value.to_owned()))
        });
        if self.safe_methods.contains(request.method()) {
            let token = match cookie {
                Some((token, _)) => token,
                None => {
                    let (token, value) = self.tokens.issue();
                    exchange.csrf_cookie = Some(self.cookie.set(&value, None));
                    token
                }
            };
            request.extensions_mut().insert(CsrfToken(mask(&token)));
            return None;
        }
        if let Err(detail) = self.origins.check(request, exchange.secure) {
            return Some(forbidden("origin", &detail));
        }
        let Some((token, cookie_value)) = cookie else {
            let name = self.cookie.name();
            let detail = if cookie_sent {
                format!(
                    "the cookie {name} was not issued by this server (or with another \
                     secret): load a page of this site (GET) to get a new one"
                )
            } else {
                format!("no {name} cookie: load a page of this site (GET) first, it sets one")
            };
            return Some(forbidden("cookie", &detail));
        };
        let submitted = match request.headers().get(&self.header) {
            Some(value) => Some(String::from_utf8_lossy(value.as_bytes()).into_owned()),
            None => match self.form_token(request).await {
                Ok(token) => token,
                Err(response) => return Some(response),
            },
        };
        let Some(submitted) = submitted else {
            return Some(forbidden(
                "token",
                &format!(
                    "no CSRF token: send the token in the {} header, or in the {} field of \
                     the form",
                    self.header_label, self.form_field
                ),
            ));
        };
        if !matches(&token, &cookie_value, submitted.trim()) {
            return Some(forbidden(
                "match",
                &format!(
                    "the CSRF token sent does not match the {} cookie: reload the page to \
                     get the current token",
                    self.cookie.name()
                ),
            ));
        }
        request.extensions_mut().insert(CsrfToken(mask(&token)));
        None
    }

    pub(crate) fn after(&self, exchange: &mut Exchange, response: &mut Response) {
        if let Some(cookie) = exchange.csrf_cookie.take() {
            response.headers_mut().append(SET_COOKIE, cookie);
        }
    }

    /// The token in the form field of a url-encoded body, which is read into memory and
    /// put back for the handler; `Ok(None)` for other bodies.
    async fn form_token(&self, request: &mut Request) -> Result<Option<String>, Response> {
        let is_form = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|essence| {
                essence
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Ok(None);
        }
        let body = std::mem::replace(request.body_mut(), RequestBody::empty());
        let bytes = match body.read_to_bytes(self.max_form_size, FORM_TIMEOUT).await {
            Ok(bytes) => bytes,
            Err(HttpError::BodyTooLarge { limit }) => {
                let mut response = problem_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!(
                        "CSRF check: a form over {limit} bytes is not read to find its {} \
                         field; send the token in the {} header instead",
                        self.form_field, self.header_label
                    ),
                );
                // The rest of the body is unread: the connection cannot carry another
                // request.
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
                return Err(response);
            }
            Err(error) => return Err(error.to_response()),
        };
        let token = form_urlencoded::parse(&bytes)
            .find(|(name, _)| *name == *self.form_field)
            .map(|(_, value)| value.into_owned());
        *request.body_mut() = RequestBody::Full(bytes);
        Ok(token)
    }

    /// `path` is an exempt path or under one.
    fn is_exempt(&self, path: &str) -> bool {
        self.exempt.iter().any(|exempt| {
            &**exempt == "/"
                || path
                    .strip_prefix(&**exempt)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }
}

/// 403 for the failed `check`.
fn forbidden(check: &str, detail: &str) -> Response {
    problem_response(
        StatusCode::FORBIDDEN,
        &format!("CSRF check failed ({check}): {detail}"),
    )
}

/// Checks the exempt paths: each must be an absolute path; a trailing `/` is dropped.
fn exempt_paths(paths: &[String]) -> Result<Box<[Box<str>]>, ConfigError> {
    paths
        .iter()
        .map(|path| {
            if !path.starts_with('/') {
                return Err(ConfigError::invalid(format!(
                    "CSRF exempt path {path:?} must start with \"/\", like \"/webhooks\""
                )));
            }
            let trimmed = path.trim_end_matches('/');
            Ok(if trimmed.is_empty() { "/" } else { trimmed }.into())
        })
        .collect()
}
