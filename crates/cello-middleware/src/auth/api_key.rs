//! API keys in a request header (`X-API-Key` by default).
//!
//! The key sent is compared as a SHA-256 digest, in constant time, against every configured
//! key, so that timing tells nothing about which keys exist. Each key maps to a name or to
//! a JSON object of claims; success puts `{"sub": <name>, "auth": "api_key"}` (or the
//! object, with `"auth": "api_key"` added) into the request's extensions.

use std::borrow::Cow;
use std::collections::HashMap;

use cello_http::Request;
use http::{HeaderName, HeaderValue};
use serde_json::{json, Value};

use super::{find_constant_time, Refusal, SecretDigest, SkipPaths};
use crate::error::{header_name, ConfigError};

/// The longest key value read from a request.
const MAX_KEY_LENGTH: usize = 4096;

/// Options of the API-key layer (`ApiKeyAuth(keys, header="X-API-Key")`).
#[derive(Clone)]
pub struct ApiKeyConfig {
    /// Key → the name of its holder (a JSON string) or its claims (a JSON object).
    pub keys: HashMap<String, Value>,
    /// The request header carrying the key.
    pub header: String,
    /// Paths that need no key (the rule is in the `auth` module's documentation).
    pub skip_paths: Vec<String>,
}

impl Default for ApiKeyConfig {
    /// No keys yet (the layer refuses an empty list), header `X-API-Key`.
    fn default() -> Self {
        Self {
            keys: HashMap::new(),
            header: "X-API-Key".into(),
            skip_paths: Vec::new(),
        }
    }
}

impl std::fmt::Debug for ApiKeyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyConfig")
            .field("keys", &format_args!("[{} redacted]", self.keys.len()))
            .field("header", &self.header)
            .field("skip_paths", &self.skip_paths)
            .finish()
    }
}

#[derive(Debug)]
struct Entry {
    digest: SecretDigest,
    claims: Value,
}

/// The API-key layer.
#[derive(Debug)]
pub struct ApiKeyAuth {
    entries: Box<[Entry]>,
    header: HeaderName,
    challenge: HeaderValue,
    pub(crate) skip: SkipPaths,
}

impl ApiKeyAuth {
    /// Validates `config`.
    pub fn new(config: &ApiKeyConfig) -> Result<Self, ConfigError> {
        if config.keys.is_empty() {
            return Err(ConfigError::invalid(
                "ApiKeyAuth keys is empty: give at least one {\"key\": \"name of its holder\"}",
            ));
        }
        let mut entries = Vec::with_capacity(config.keys.len());
        for (key, holder) in &config.keys {
            if key.is_empty()
                || key.len() > MAX_KEY_LENGTH
                || HeaderValue::from_str(key).is_err()
                || key.trim() != key
            {
                return Err(ConfigError::invalid(format!(
                    "ApiKeyAuth keys: a key must be 1 to {MAX_KEY_LENGTH} visible ASCII \
                     characters without surrounding spaces, so that clients can send it in a \
                     header (the key for {holder} is not)"
                )));
            }
            let claims = match holder {
                Value::String(name) => json!({"sub": name, "auth": "api_key"}),
                Value::Object(object) => {
                    let mut object = object.clone();
                    object.entry("auth").or_insert_with(|| "api_key".into());
                    Value::Object(object)
                }
                other => {
                    return Err(ConfigError::invalid(format!(
                        "ApiKeyAuth keys: the value of a key is the name of its holder or a dict \
                         of claims, not {other}"
                    )))
                }
            };
            entries.push(Entry {
                digest: SecretDigest::of(key.as_bytes()),
                claims,
            });
        }
        let header = header_name("ApiKeyAuth header", &config.header)?;
        let challenge = HeaderValue::from_str(&format!("ApiKey header=\"{}\"", config.header))
            .map_err(|_| ConfigError::invalid("ApiKeyAuth header is not a valid header name"))?;
        Ok(Self {
            entries: entries.into_boxed_slice(),
            header,
            challenge,
            skip: SkipPaths::new("ApiKeyAuth", &config.skip_paths)?,
        })
    }

    /// The key's claims, or the 401 to answer.
    pub(crate) fn authenticate(&self, request: &Request) -> Result<Value, Refusal> {
        let mut values = request.headers().get_all(&self.header).iter();
        let Some(value) = values.next() else {
            return Err(self.reject(format!("no API key was sent (header {})", self.header)));
        };
        let sent = value.as_bytes().trim_ascii();
        if values.next().is_some() || sent.is_empty() || sent.len() > MAX_KEY_LENGTH {
            return Err(self.reject("the API key header is malformed (one header, one key)"));
        }
        let sent = SecretDigest::of(sent);
        match find_constant_time(&self.entries, |entry| entry.digest.matches(&sent)) {
            Some(index) => Ok(self.entries[index].claims.clone()),
            None => Err(self.reject("the API key is not valid")),
        }
    }

    fn reject(&self, detail: impl Into<Cow<'static, str>>) -> Refusal {
        Refusal::new(self.challenge.clone(), detail)
    }
}
