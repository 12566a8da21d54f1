//! Where the token comes from: the configured header (`Authorization: Bearer <token>` by
//! default), else a cookie; and a first look at its header, before any key is chosen.

use std::borrow::Cow;

use data_encoding::BASE64URL_NOPAD;
use http::header::{AUTHORIZATION, COOKIE};
use http::{HeaderMap, HeaderName};
use serde_json::Value;

use super::config::JwtConfig;
use super::rejection::Rejection;
use crate::error::{header_name, ConfigError};

/// The header and cookie a token is read from.
#[derive(Debug)]
pub(crate) struct TokenSource {
    header: HeaderName,
    /// The header's name as configured, for messages.
    header_label: Box<str>,
    prefix: Box<str>,
    /// In `Authorization` the scheme is required; another header may hold a bare token.
    prefix_required: bool,
    cookie: Option<Box<str>>,
}

impl TokenSource {
    pub(crate) fn new(config: &JwtConfig) -> Result<Self, ConfigError> {
        let header = header_name("JwtConfig header_name", &config.header_name)?;
        if config
            .header_prefix
            .contains(|c: char| !c.is_ascii_graphic())
        {
            return Err(ConfigError::invalid(format!(
                "JwtConfig header_prefix {:?} must be one word like \"Bearer\" (or empty)",
                config.header_prefix
            )));
        }
        let prefix_required = header == AUTHORIZATION;
        if prefix_required && config.header_prefix.is_empty() {
            return Err(ConfigError::invalid(
                "JwtConfig header_prefix: the Authorization header needs a scheme (\"Bearer\")",
            ));
        }
        let cookie = match &config.cookie_name {
            Some(name)
                if name.is_empty()
                    || name.contains(|c: char| !c.is_ascii_graphic() || "=;,\"".contains(c)) =>
            {
                return Err(ConfigError::invalid(format!(
                    "JwtConfig cookie_name {name:?} is not a cookie name (visible ASCII, no = ; , \
                     or quotes)"
                )));
            }
            other => other.as_deref().map(Box::from),
        };
        Ok(Self {
            header,
            header_label: config.header_name.as_str().into(),
            prefix: config.header_prefix.as_str().into(),
            prefix_required,
            cookie,
        })
    }

    /// The token from the header, else from the cookie.
    pub(crate) fn read<'a>(&self, headers: &'a HeaderMap) -> Result<Cow<'a, str>, Rejection> {
        let mut values = headers.get_all(&self.header).iter();
        if let Some(value) = values.next() {
            if values.next().is_some() {
                return Err(Rejection::Malformed); // two tokens: which one would be meant?
            }
            let text = value.to_str().map_err(|_| Rejection::Malformed)?.trim();
            match strip_scheme(text, &self.prefix) {
                Some("") => return Err(Rejection::Malformed),
                Some(token) => return Ok(token.into()),
                None if !self.prefix_required && !text.is_empty() => return Ok(text.into()),
                None => {} // another scheme (Basic ...): not ours, try the cookie
            }
        }
        if let Some(name) = &self.cookie {
            if let Some(token) = cookie(headers, name) {
                return Ok(token);
            }
        }
        Err(Rejection::Missing)
    }

    /// What to send, for the detail of a 401 to a request without a token.
    pub(crate) fn expected(&self) -> String {
        let header = &self.header_label;
        let prefix = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{} ", self.prefix)
        };
        match &self.cookie {
            Some(cookie) => format!("send {header}: {prefix}<token>, or the cookie {cookie}"),
            None => format!("send {header}: {prefix}<token>"),
        }
    }
}

/// `text` without its leading `prefix` scheme (case-insensitive) and the spaces after it.
fn strip_scheme<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    if prefix.is_empty() || text.len() < prefix.len() || !text.is_char_boundary(prefix.len()) {
        return None;
    }
    let (scheme, rest) = text.split_at(prefix.len());
    if !scheme.eq_ignore_ascii_case(prefix) {
        return None;
    }
    if rest.is_empty() {
        return Some("");
    }
    rest.starts_with([' ', '\t'])
        .then(|| rest.trim_start_matches([' ', '\t']))
}

/// The value of the cookie `name` from the `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<Cow<'a, str>> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|value| !value.is_empty())
        .map(Cow::Borrowed)
}

/// The `alg` and `kid` of a token's header, read before any key is chosen.
pub(crate) fn peek_header(token: &str) -> Result<(String, Option<String>), Rejection> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Rejection::Malformed);
    };
    let bytes = BASE64URL_NOPAD
        .decode(header.as_bytes())
        .map_err(|_| Rejection::Malformed)?;
    let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(Rejection::Malformed);
    };
    let Some(Value::String(alg)) = fields.remove("alg") else {
        return Err(Rejection::Malformed);
    };
    let kid = match fields.remove("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid),
        Some(_) => return Err(Rejection::Malformed),
    };
    Ok((alg, kid))
}
