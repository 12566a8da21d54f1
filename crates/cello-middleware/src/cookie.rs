//! Cookies, shared by the session and CSRF layers: reading them from `Cookie`, writing
//! `Set-Cookie` with checked attributes (RFC 6265bis, including the `__Host-` and
//! `__Secure-` name prefixes).

use std::fmt::Write as _;
use std::str::FromStr;

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};

use crate::error::ConfigError;

/// The `SameSite` attribute of a cookie.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SameSite {
    /// Sent only on requests started by the site itself.
    Strict,
    /// Also sent on top-level navigations from other sites (following a link); the
    /// browsers' default.
    #[default]
    Lax,
    /// Sent on every request, cross-site ones included; requires `Secure`.
    None,
}

impl SameSite {
    /// The attribute's value, as written in `Set-Cookie`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "Strict",
            Self::Lax => "Lax",
            Self::None => "None",
        }
    }
}

impl FromStr for SameSite {
    type Err = ConfigError;

    /// `"Strict"`, `"Lax"` or `"None"`, in any case.
    fn from_str(text: &str) -> Result<Self, ConfigError> {
        match text.to_ascii_lowercase().as_str() {
            "strict" => Ok(Self::Strict),
            "lax" => Ok(Self::Lax),
            "none" => Ok(Self::None),
            _ => Err(ConfigError::invalid(format!(
                "cookie SameSite {text:?} is not one of \"Strict\", \"Lax\" or \"None\""
            ))),
        }
    }
}

/// The attributes a layer's cookie is written with.
pub(crate) struct CookieSpec<'a> {
    /// The layer, for messages ("session", "CSRF").
    pub what: &'static str,
    pub name: &'a str,
    pub path: &'a str,
    pub domain: Option<&'a str>,
    pub secure: bool,
    pub http_only: bool,
    pub same_site: SameSite,
}

/// A checked cookie name and the `; Path=...; Secure; ...` that follows every value.
#[derive(Debug)]
pub(crate) struct CookieWriter {
    name: Box<str>,
    attributes: Box<str>,
}

impl CookieWriter {
    /// Checks `spec`: a valid name and path, a domain without separators, `SameSite=None`
    /// only with `Secure`, and the rules of the `__Host-` and `__Secure-` prefixes.
    pub(crate) fn new(spec: &CookieSpec<'_>) -> Result<Self, ConfigError> {
        let what = spec.what;
        let name = spec.name;
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(ConfigError::invalid(format!(
                "{what} cookie name {name:?} is not a cookie name: use letters, digits and \
                 -_.!#$%&'*+^`|~, like \"session_id\""
            )));
        }
        if !spec.path.starts_with('/') || !spec.path.bytes().all(is_attribute_byte) {
            return Err(ConfigError::invalid(format!(
                "{what} cookie path {:?} must start with \"/\" and hold no ';' or control \
                 characters, like \"/\"",
                spec.path
            )));
        }
        if let Some(domain) = spec.domain {
            if domain.is_empty()
                || !domain
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            {
                return Err(ConfigError::invalid(format!(
                    "{what} cookie domain {domain:?} must be a host name like \
                     \"example.com\" (or None: the cookie goes back to this host only)"
                )));
            }
        }
        if spec.same_site == SameSite::None && !spec.secure {
            return Err(ConfigError::invalid(format!(
                "{what} cookie: SameSite=None requires Secure (browsers drop the cookie \
                 otherwise): set secure to True, or use SameSite \"Lax\""
            )));
        }
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("__host-")
            && (!spec.secure || spec.path != "/" || spec.domain.is_some())
        {
            return Err(ConfigError::invalid(format!(
                "{what} cookie name {name:?}: browsers keep a __Host- cookie only with \
                 Secure, Path=/ and no Domain: set secure to True, path to \"/\" and no \
                 domain, or choose a name without the prefix"
            )));
        }
        if lower.starts_with("__secure-") && !spec.secure {
            return Err(ConfigError::invalid(format!(
                "{what} cookie name {name:?}: browsers keep a __Secure- cookie only with \
                 Secure: set secure to True, or choose a name without the prefix"
            )));
        }
        let mut attributes = format!("; Path={}", spec.path);
        if let Some(domain) = spec.domain {
            attributes.push_str("; Domain=");
            attributes.push_str(domain);
        }
        if spec.secure {
            attributes.push_str("; Secure");
        }
        if spec.http_only {
            attributes.push_str("; HttpOnly");
        }
        attributes.push_str("; SameSite=");
        attributes.push_str(spec.same_site.as_str());
        Ok(Self {
            name: name.into(),
            attributes: attributes.into(),
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// `Set-Cookie` for `value` (cookie-octets only: the layers write base64url and
    /// dots), kept `max_age` seconds, or until the browser closes when `None`.
    pub(crate) fn set(&self, value: &str, max_age: Option<u64>) -> HeaderValue {
        let mut line = String::with_capacity(self.name.len() + value.len() + 64);
        line.push_str(&self.name);
        line.push('=');
        line.push_str(value);
        if let Some(seconds) = max_age {
            let _ = write!(line, "; Max-Age={seconds}");
        }
        line.push_str(&self.attributes);
        HeaderValue::from_str(&line).expect("checked name, attributes and value")
    }

    /// `Set-Cookie` that makes the browser drop the cookie.
    pub(crate) fn expire(&self) -> HeaderValue {
        self.set("", Some(0))
    }

    /// The values of this cookie in the request's `Cookie` headers, in order (a browser
    /// may send several cookies of one name, set for different paths or domains).
    pub(crate) fn values<'a>(&'a self, headers: &'a HeaderMap) -> impl Iterator<Item = &'a str> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|line| line.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(key, _)| *key == &*self.name)
            .map(|(_, value)| value.trim().trim_matches('"'))
    }
}

/// RFC 9110 `tchar`: what a cookie name may be made of.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// What an attribute value (a path) may hold: visible ASCII and spaces, no `;`.
fn is_attribute_byte(byte: u8) -> bool {
    (b' '..=b'~').contains(&byte) && byte != b';'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> CookieSpec<'_> {
        CookieSpec {
            what: "test",
            name,
            path: "/",
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
        }
    }

    #[test]
    fn writes_the_attributes_in_order() {
        let writer = CookieWriter::new(&CookieSpec {
            domain: Some("example.com"),
            path: "/app",
            ..spec("sid")
        })
        .unwrap();
        assert_eq!(
            writer.set("abc", Some(60)),
            "sid=abc; Max-Age=60; Path=/app; Domain=example.com; Secure; HttpOnly; SameSite=Lax"
        );
        assert_eq!(
            writer.expire(),
            "sid=; Max-Age=0; Path=/app; Domain=example.com; Secure; HttpOnly; SameSite=Lax"
        );
    }

    #[test]
    fn checks_names_prefixes_and_same_site() {
        assert!(CookieWriter::new(&spec("a b")).is_err());
        assert!(CookieWriter::new(&spec("")).is_err());
        let insecure = CookieSpec {
            secure: false,
            same_site: SameSite::None,
            ..spec("sid")
        };
        let error = CookieWriter::new(&insecure).unwrap_err().to_string();
        assert!(error.contains("SameSite=None requires Secure"), "{error}");
        let host = CookieSpec {
            domain: Some("example.com"),
            ..spec("__Host-sid")
        };
        assert!(CookieWriter::new(&host).is_err());
        let secure = CookieSpec {
            secure: false,
            ..spec("__Secure-sid")
        };
        assert!(CookieWriter::new(&secure).is_err());
        assert!(CookieWriter::new(&spec("__Host-sid")).is_ok());
        assert_eq!("none".parse::<SameSite>().unwrap(), SameSite::None);
        assert!("sometimes".parse::<SameSite>().is_err());
    }

    #[test]
    fn reads_every_value_of_the_name() {
        let writer = CookieWriter::new(&spec("sid")).unwrap();
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; sid=one;sidx=2"));
        headers.append(COOKIE, HeaderValue::from_static("sid=\"two\""));
        let values: Vec<&str> = writer.values(&headers).collect();
        assert_eq!(values, ["one", "two"]);
    }
}
