//! CORS (the Fetch standard's CORS protocol), with tower-http's behaviour.
//!
//! - A request without `Origin`, or from an origin not allowed, gets no CORS headers
//!   (but `Vary: Origin` when the answer depends on the origin).
//! - A preflight (`OPTIONS` with `Access-Control-Request-Method`) from an allowed
//!   origin is answered here with 204; the handler is not called.
//! - `*` is sent only for "any origin" without credentials; otherwise the request's
//!   origin is echoed. "Any origin" with credentials is refused at start-up.
//! - The headers are added in `after`, so error responses (404, 429, 500) carry them.

use cello_http::{Request, Response, ResponseBody};
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
};
use http::{HeaderValue, Method, StatusCode};

use crate::chain::Exchange;
use crate::error::{header_name, header_value, ConfigError};
use crate::vary::add_vary;

/// CORS options; [`CorsConfig::default`] allows any origin without credentials.
#[derive(Clone, Debug)]
pub struct CorsConfig {
    /// Allowed origins (`https://app.example.com`, scheme and host, no path); `["*"]`
    /// or an empty list allows any origin.
    pub origins: Vec<String>,
    /// Methods a preflight may ask for.
    pub methods: Vec<String>,
    /// Request headers a preflight may ask for; `None` (or `["*"]`) allows whatever
    /// the preflight asks for.
    pub headers: Option<Vec<String>>,
    /// Response headers scripts may read (`Access-Control-Expose-Headers`).
    pub expose_headers: Vec<String>,
    /// Whether cookies and `Authorization` may be sent (`Access-Control-Allow-Credentials`).
    pub allow_credentials: bool,
    /// How long a browser may cache a preflight answer, in seconds.
    pub max_age: Option<u32>,
}

impl Default for CorsConfig {
    fn default() -> Self {
        Self {
            origins: vec!["*".into()],
            methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
                .map(String::from)
                .to_vec(),
            headers: None,
            expose_headers: Vec::new(),
            allow_credentials: false,
            max_age: Some(600),
        }
    }
}

/// The CORS layer.
#[derive(Debug)]
pub struct Cors {
    /// `None`: any origin.
    origins: Option<Vec<HeaderValue>>,
    methods: HeaderValue,
    /// `None`: mirror the preflight's `Access-Control-Request-Headers`.
    headers: Option<HeaderValue>,
    expose: Option<HeaderValue>,
    credentials: bool,
    max_age: Option<HeaderValue>,
}

const ANY: HeaderValue = HeaderValue::from_static("*");

impl Cors {
    /// Validates `config`.
    pub fn new(config: &CorsConfig) -> Result<Self, ConfigError> {
        let any_origin = config.origins.is_empty() || config.origins.iter().any(|o| o == "*");
        if any_origin && config.origins.len() > 1 {
            return Err(ConfigError::invalid(
                "CORS origins: \"*\" allows every origin; give either [\"*\"] or a list of origins",
            ));
        }
        if any_origin && config.allow_credentials {
            return Err(ConfigError::invalid(
                "CORS: allow_credentials=True with any origin (\"*\") would let every site \
                 make credentialed requests, and browsers refuse it: list the allowed origins",
            ));
        }
        let origins = if any_origin {
            None
        } else {
            let mut values = Vec::with_capacity(config.origins.len());
            for origin in &config.origins {
                let trimmed = origin.trim_end_matches('/');
                if !(trimmed.starts_with("http://") || trimmed.starts_with("https://"))
                    || trimmed
                        .split("://")
                        .nth(1)
                        .is_some_and(|rest| rest.contains('/'))
                {
                    return Err(ConfigError::invalid(format!(
                        "CORS origin {origin:?} must be a scheme and host with no path, \
                         like \"https://app.example.com\" or \"http://localhost:3000\""
                    )));
                }
                values.push(header_value("CORS origin", &trimmed.to_ascii_lowercase())?);
            }
            Some(values)
        };
        let mut methods = Vec::with_capacity(config.methods.len());
        for method in &config.methods {
            let upper = method.to_ascii_uppercase();
            Method::from_bytes(upper.as_bytes()).map_err(|_| {
                ConfigError::invalid(format!("CORS methods: {method:?} is not an HTTP method"))
            })?;
            methods.push(upper);
        }
        let headers = match &config.headers {
            None => None,
            Some(list) if list.iter().any(|h| h == "*") => None,
            Some(list) => Some(joined_names("CORS headers", list)?),
        };
        let expose = if config.expose_headers.is_empty() {
            None
        } else if config.expose_headers.iter().any(|h| h == "*") && config.allow_credentials {
            return Err(ConfigError::invalid(
                "CORS expose_headers=[\"*\"] is ignored by browsers on credentialed requests: \
                 list the headers to expose",
            ));
        } else {
            Some(joined_names("CORS expose_headers", &config.expose_headers)?)
        };
        Ok(Self {
            origins,
            methods: header_value("CORS methods", &methods.join(", "))?,
            headers,
            expose,
            credentials: config.allow_credentials,
            max_age: config.max_age.map(HeaderValue::from),
        })
    }

    /// The value for `Access-Control-Allow-Origin`, if `origin` is allowed.
    fn allow(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        match &self.origins {
            None if self.credentials => Some(origin.clone()),
            None => Some(ANY),
            Some(list) => {
                let origin = origin.as_bytes();
                list.iter()
                    .any(|allowed| allowed.as_bytes().eq_ignore_ascii_case(origin))
                    .then(|| HeaderValue::from_bytes(origin).ok())
                    .flatten()
            }
        }
    }

    pub(crate) fn before(
        &self,
        request: &mut Request,
        exchange: &mut Exchange,
    ) -> Option<Response> {
        let origin = request.headers().get(ORIGIN)?;
        let allowed = self.allow(origin)?;
        let preflight = request.method() == Method::OPTIONS
            && request
                .headers()
                .contains_key(ACCESS_CONTROL_REQUEST_METHOD);
        if !preflight {
            exchange.cors_origin = Some(allowed);
            return None;
        }
        let mut response = Response::new(ResponseBody::Empty);
        *response.status_mut() = StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        headers.insert(ACCESS_CONTROL_ALLOW_METHODS, self.methods.clone());
        let allow_headers = match &self.headers {
            Some(list) => Some(list.clone()),
            None => request
                .headers()
                .get(ACCESS_CONTROL_REQUEST_HEADERS)
                .cloned(),
        };
        if let Some(value) = allow_headers {
            headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, value);
        }
        if self.credentials {
            headers.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(max_age) = &self.max_age {
            headers.insert(ACCESS_CONTROL_MAX_AGE, max_age.clone());
        }
        add_vary(headers, "Origin");
        add_vary(headers, "Access-Control-Request-Method");
        add_vary(headers, "Access-Control-Request-Headers");
        Some(response)
    }

    pub(crate) fn after(&self, exchange: &mut Exchange, response: &mut Response) {
        let headers = response.headers_mut();
        if headers.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN) {
            return; // our preflight answer, or a handler that did CORS itself
        }
        if self.origins.is_some() || self.credentials {
            add_vary(headers, "Origin");
        }
        let Some(origin) = exchange.cors_origin.take() else {
            return;
        };
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if self.credentials {
            headers.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(expose) = &self.expose {
            headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, expose.clone());
        }
    }
}

fn joined_names(what: &'static str, names: &[String]) -> Result<HeaderValue, ConfigError> {
    for name in names {
        if name != "*" {
            header_name(what, name)?;
        }
    }
    header_value(what, &names.join(", "))
}

#[cfg(test)]
mod tests;
