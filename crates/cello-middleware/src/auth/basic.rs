//! HTTP Basic authentication (RFC 7617).
//!
//! User names and passwords are compared as SHA-256 digests, in constant time, against every
//! configured entry, so that the time taken tells neither which user exists nor how much of
//! a password was right. Malformed credentials (not base64, no colon) are a 401, like wrong
//! ones. Success puts `{"sub": <user>, "auth": "basic"}` into the request's extensions.

use std::borrow::Cow;
use std::collections::HashMap;

use cello_http::Request;
use data_encoding::BASE64;
use http::header::AUTHORIZATION;
use http::HeaderValue;
use serde_json::{json, Value};

use super::{find_constant_time, Refusal, SecretDigest, SkipPaths};
use crate::error::ConfigError;

/// Options of the Basic authentication layer (`BasicAuth(credentials, realm="Restricted")`).
#[derive(Clone)]
pub struct BasicAuthConfig {
    /// User name → password.
    pub credentials: HashMap<String, String>,
    /// The realm shown by browsers in their login prompt.
    pub realm: String,
    /// Paths that need no credentials (the rule is in the `auth` module's documentation).
    pub skip_paths: Vec<String>,
}

impl Default for BasicAuthConfig {
    /// No users yet (the layer refuses an empty list), realm "Restricted".
    fn default() -> Self {
        Self {
            credentials: HashMap::new(),
            realm: "Restricted".into(),
            skip_paths: Vec::new(),
        }
    }
}

impl std::fmt::Debug for BasicAuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut users: Vec<&str> = self.credentials.keys().map(String::as_str).collect();
        users.sort_unstable();
        f.debug_struct("BasicAuthConfig")
            .field("users", &users)
            .field("realm", &self.realm)
            .field("skip_paths", &self.skip_paths)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Entry {
    user: String,
    user_digest: SecretDigest,
    password_digest: SecretDigest,
}

/// The Basic authentication layer.
#[derive(Debug)]
pub struct BasicAuth {
    entries: Box<[Entry]>,
    challenge: HeaderValue,
    pub(crate) skip: SkipPaths,
}

impl BasicAuth {
    /// Validates `config`.
    pub fn new(config: &BasicAuthConfig) -> Result<Self, ConfigError> {
        if config.credentials.is_empty() {
            return Err(ConfigError::invalid(
                "BasicAuth credentials is empty: give at least one {\"user\": \"password\"}",
            ));
        }
        let mut entries = Vec::with_capacity(config.credentials.len());
        for (user, password) in &config.credentials {
            if user.is_empty() || user.contains(':') || user.chars().any(char::is_control) {
                return Err(ConfigError::invalid(format!(
                    "BasicAuth credentials: user name {user:?} must be non-empty, without \":\" \
                     or control characters (RFC 7617)"
                )));
            }
            if password.is_empty() {
                return Err(ConfigError::invalid(format!(
                    "BasicAuth credentials: the password of {user:?} is empty"
                )));
            }
            entries.push(Entry {
                user: user.clone(),
                user_digest: SecretDigest::of(user.as_bytes()),
                password_digest: SecretDigest::of(password.as_bytes()),
            });
        }
        let realm = &config.realm;
        if realm.is_empty()
            || realm.contains(|c: char| c == '"' || c == '\\' || !(' '..='~').contains(&c))
        {
            return Err(ConfigError::invalid(format!(
                "BasicAuth realm {realm:?} must be non-empty printable ASCII without quotes or \
                 backslashes"
            )));
        }
        let challenge =
            HeaderValue::from_str(&format!("Basic realm=\"{realm}\", charset=\"UTF-8\""))
                .map_err(|_| ConfigError::invalid("BasicAuth realm is not a valid header value"))?;
        Ok(Self {
            entries: entries.into_boxed_slice(),
            challenge,
            skip: SkipPaths::new("BasicAuth", &config.skip_paths)?,
        })
    }

    /// `{"sub": user, "auth": "basic"}`, or the 401 to answer.
    pub(crate) fn authenticate(&self, request: &Request) -> Result<Value, Refusal> {
        let (user, password) = match credentials(request) {
            Ok(Some(pair)) => pair,
            Ok(None) => return Err(self.reject("no credentials were sent (Authorization: Basic)")),
            Err(()) => {
                return Err(
                    self.reject("the Basic credentials are malformed (base64 of user:password)")
                )
            }
        };
        let user = SecretDigest::of(&user);
        let password = SecretDigest::of(&password);
        let found = find_constant_time(&self.entries, |entry| {
            entry.user_digest.matches(&user) & entry.password_digest.matches(&password)
        });
        match found {
            Some(index) => Ok(json!({"sub": self.entries[index].user, "auth": "basic"})),
            None => Err(self.reject("the user name or password is wrong")),
        }
    }

    fn reject(&self, detail: impl Into<Cow<'static, str>>) -> Refusal {
        Refusal::new(self.challenge.clone(), detail)
    }
}

/// The decoded user and password; `Ok(None)` when no Basic credentials were sent.
/// A user name and password as sent, not yet known to be UTF-8.
type Credentials = (Vec<u8>, Vec<u8>);

fn credentials(request: &Request) -> Result<Option<Credentials>, ()> {
    let mut values = request.headers().get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(());
    }
    let text = value.as_bytes().trim_ascii();
    let Some((scheme, encoded)) = text.split_at_checked(5) else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return Ok(None);
    }
    if !encoded.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
        return Err(());
    }
    let encoded = encoded.trim_ascii_start();
    if encoded.len() > 4096 {
        return Err(());
    }
    let mut decoded = BASE64.decode(encoded).map_err(|_| ())?;
    let colon = decoded.iter().position(|b| *b == b':').ok_or(())?;
    let password = decoded.split_off(colon + 1);
    decoded.truncate(colon);
    Ok(Some((decoded, password)))
}
