//! Security headers on every response (error responses included), with the original's
//! `SecurityHeadersConfig` fields and defaults. A header the handler set itself is
//! left alone; HSTS is sent only on requests that arrived over TLS (RFC 6797 §7.2).

use cello_http::Response;
use http::{HeaderName, HeaderValue};

use crate::chain::Exchange;
use crate::error::{header_value, ConfigError};

/// Options; `None` leaves a header out. Defaults are the original's class defaults.
#[derive(Clone, Debug)]
pub struct SecurityHeadersConfig {
    pub x_frame_options: Option<String>,
    pub x_content_type_options: bool,
    /// Obsolete (modern browsers ignore it; OWASP advises `0` or leaving it out), kept
    /// because the original sends it; set `None` to drop it.
    pub x_xss_protection: Option<String>,
    pub referrer_policy: Option<String>,
    /// `Strict-Transport-Security: max-age=N`, over TLS only.
    pub hsts_max_age: Option<u64>,
    pub hsts_include_subdomains: bool,
    pub hsts_preload: bool,
    pub csp: Option<String>,
    pub permissions_policy: Option<String>,
    /// `Cross-Origin-Embedder-Policy`.
    pub coep: Option<String>,
    /// `Cross-Origin-Opener-Policy`.
    pub coop: Option<String>,
    /// `Cross-Origin-Resource-Policy`.
    pub corp: Option<String>,
}

impl Default for SecurityHeadersConfig {
    fn default() -> Self {
        Self {
            x_frame_options: Some("DENY".into()),
            x_content_type_options: true,
            x_xss_protection: Some("1; mode=block".into()),
            referrer_policy: Some("strict-origin-when-cross-origin".into()),
            hsts_max_age: None,
            hsts_include_subdomains: false,
            hsts_preload: false,
            csp: None,
            permissions_policy: None,
            coep: None,
            coop: None,
            corp: None,
        }
    }
}

impl SecurityHeadersConfig {
    /// The strict preset (the original's `secure()`): HSTS for a year with
    /// subdomains, frames denied.
    pub fn strict() -> Self {
        Self {
            hsts_max_age: Some(31_536_000),
            hsts_include_subdomains: true,
            ..Self::default()
        }
    }
}

/// The security-headers layer: every value parsed once, at start-up.
#[derive(Debug)]
pub struct SecurityHeaders {
    always: Vec<(HeaderName, HeaderValue)>,
    hsts: Option<HeaderValue>,
}

impl SecurityHeaders {
    /// Validates `config` (every value must be a valid header value).
    pub fn new(config: &SecurityHeadersConfig) -> Result<Self, ConfigError> {
        let mut always = Vec::new();
        let mut add = |name: &'static str, value: Option<&str>| -> Result<(), ConfigError> {
            if let Some(value) = value {
                always.push((HeaderName::from_static(name), header_value(name, value)?));
            }
            Ok(())
        };
        add("x-frame-options", config.x_frame_options.as_deref())?;
        add(
            "x-content-type-options",
            config.x_content_type_options.then_some("nosniff"),
        )?;
        add("x-xss-protection", config.x_xss_protection.as_deref())?;
        add("referrer-policy", config.referrer_policy.as_deref())?;
        add("content-security-policy", config.csp.as_deref())?;
        add("permissions-policy", config.permissions_policy.as_deref())?;
        add("cross-origin-embedder-policy", config.coep.as_deref())?;
        add("cross-origin-opener-policy", config.coop.as_deref())?;
        add("cross-origin-resource-policy", config.corp.as_deref())?;
        if config.hsts_preload
            && !(config.hsts_include_subdomains && config.hsts_max_age >= Some(31_536_000))
        {
            return Err(ConfigError::invalid(
                "HSTS preload needs hsts_include_subdomains=True and hsts_max_age of at least \
                 31536000 (one year): browsers' preload lists refuse anything less",
            ));
        }
        let hsts = match config.hsts_max_age {
            None => None,
            Some(max_age) => {
                let mut value = format!("max-age={max_age}");
                if config.hsts_include_subdomains {
                    value.push_str("; includeSubDomains");
                }
                if config.hsts_preload {
                    value.push_str("; preload");
                }
                Some(header_value("strict-transport-security", &value)?)
            }
        };
        Ok(Self { always, hsts })
    }

    pub(crate) fn after(&self, exchange: &mut Exchange, response: &mut Response) {
        let headers = response.headers_mut();
        for (name, value) in &self.always {
            if !headers.contains_key(name) {
                headers.insert(name.clone(), value.clone());
            }
        }
        if let (true, Some(hsts)) = (exchange.secure, &self.hsts) {
            headers
                .entry(http::header::STRICT_TRANSPORT_SECURITY)
                .or_insert_with(|| hsts.clone());
        }
    }
}

#[cfg(test)]
mod tests;
