//! Where an unsafe request comes from: its `Origin`, or without one its `Referer`,
//! must be the request's own origin or one of the allowed origins.

use cello_http::Request;
use http::header::{HOST, ORIGIN, REFERER};

use crate::error::ConfigError;

/// The origins, besides the request's own, allowed to send unsafe requests.
#[derive(Debug)]
pub(crate) struct Origins {
    /// Normalized: lowercase, no default port.
    allowed: Box<[Box<str>]>,
}

impl Origins {
    pub(crate) fn new(allowed: Option<&[String]>) -> Result<Self, ConfigError> {
        let allowed = allowed
            .unwrap_or_default()
            .iter()
            .map(|origin| {
                if origin == "*" {
                    return Err(ConfigError::invalid(
                        "CSRF allowed_origins: \"*\" would let every site send forms here, \
                         which is what the check prevents: list the origins, like \
                         \"https://app.example.com\"",
                    ));
                }
                normalize(origin.trim_end_matches('/'))
                    .map(String::into_boxed_str)
                    .ok_or_else(|| {
                        ConfigError::invalid(format!(
                            "CSRF allowed origin {origin:?} must be a scheme and host with no \
                             path, like \"https://app.example.com\" or \"http://localhost:3000\""
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { allowed })
    }

    /// Checks the origin of an unsafe request that arrived over TLS or not (`secure`);
    /// the error is the sentence for the 403.
    pub(crate) fn check(&self, request: &Request, secure: bool) -> Result<(), String> {
        let headers = request.headers();
        let (origin, source) = match headers.get(ORIGIN) {
            Some(origin) => (origin, "Origin"),
            None => match headers.get(REFERER) {
                Some(referer) => (referer, "Referer"),
                // Browsers send Origin on every request of an unsafe method, so this is
                // a program (curl, a server) or a proxy stripping headers: the token,
                // the primary defence, still has to match.
                None => return Ok(()),
            },
        };
        let text = String::from_utf8_lossy(origin.as_bytes());
        if source == "Origin" && text == "null" {
            return Err(
                "the request's Origin is \"null\" (a sandboxed frame, a local file or a \
                 redirect from another site), not an origin allowed to send it"
                    .to_owned(),
            );
        }
        let parsed = if source == "Origin" {
            normalize(&text)
        } else {
            referer_origin(&text)
        };
        let Some(parsed) = parsed else {
            return Err(format!(
                "the request's {source} ({}) is not a URL",
                shorten(&text)
            ));
        };
        let own = own_origin(request, secure);
        if own.as_deref() == Some(parsed.as_str()) || self.allowed.iter().any(|a| **a == parsed) {
            return Ok(());
        }
        Err(match own {
            Some(own) => format!(
                "the request comes from {} (its {source}), which is neither this site \
                 ({own}) nor one of allowed_origins; behind a proxy that terminates TLS, \
                 add the public origin to allowed_origins",
                shorten(&parsed)
            ),
            None => format!(
                "the request comes from {} (its {source}), which is not one of \
                 allowed_origins, and it names no Host",
                shorten(&parsed)
            ),
        })
    }
}

/// The origin the request was sent to: its scheme and `Host` (or HTTP/2 `:authority`).
fn own_origin(request: &Request, secure: bool) -> Option<String> {
    let host = match request.headers().get(HOST) {
        Some(host) => host.to_str().ok()?,
        None => request.uri().authority()?.as_str(),
    };
    normalize(&format!(
        "{}://{host}",
        if secure { "https" } else { "http" }
    ))
}

/// `scheme://host[:port]` in lowercase without the scheme's default port; `None` for
/// anything else (a path, user info, another scheme).
fn normalize(origin: &str) -> Option<String> {
    let lower = origin.trim().to_ascii_lowercase();
    let (scheme, authority) = lower.split_once("://")?;
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    if authority.is_empty()
        || authority
            .bytes()
            .any(|b| b"/?#@\\".contains(&b) || !b.is_ascii_graphic())
    {
        return None;
    }
    let host = authority.strip_suffix(default_port).unwrap_or(authority);
    Some(format!("{scheme}://{host}"))
}

/// The origin of a `Referer` URL.
fn referer_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    normalize(&format!("{scheme}://{}", &rest[..end]))
}

/// Client-sent text cut to a length fit for a message.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(120) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalized() {
        assert_eq!(
            normalize("HTTPS://App.Example:443").unwrap(),
            "https://app.example"
        );
        assert_eq!(
            normalize("http://a.example:8080").unwrap(),
            "http://a.example:8080"
        );
        assert_eq!(
            normalize("http://a.example:443").unwrap(),
            "http://a.example:443"
        );
        assert_eq!(normalize("ftp://a.example"), None);
        assert_eq!(normalize("https://a.example/path"), None);
        assert_eq!(normalize("https://user@a.example"), None);
        assert_eq!(normalize("https://"), None);
        assert_eq!(
            referer_origin("https://a.example/form?x=1#top").unwrap(),
            "https://a.example"
        );
        assert_eq!(
            referer_origin("https://a.example?x").unwrap(),
            "https://a.example"
        );
        assert_eq!(referer_origin("/relative"), None);
    }

    #[test]
    fn wildcards_and_paths_are_refused() {
        assert!(Origins::new(Some(&["*".into()])).is_err());
        assert!(Origins::new(Some(&["https://a.example/app".into()])).is_err());
        assert!(Origins::new(Some(&["https://a.example/".into()])).is_ok());
    }
}
