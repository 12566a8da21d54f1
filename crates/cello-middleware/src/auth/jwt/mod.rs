//! JWT bearer tokens (RFC 7519, RFC 6750).
//!
//! - The algorithm is pinned by the config: a token whose header names another one (`none`
//!   included) is refused before any key is used, and a key only ever serves the family it
//!   was loaded for (`ring_provider.rs`), so an HS256 token signed with the RSA public key
//!   as the secret ("algorithm confusion") fails too.
//! - `exp` is required; `exp` and `nbf` are checked with `leeway`, against a clock the tests
//!   can fix; `iss` and `aud` are required and checked when configured. A token carrying
//!   `aud` is refused when no audience is configured (RFC 7519 §4.1.3: a recipient that is
//!   not in `aud` must reject the token).
//! - The token is read from the configured header (`Authorization: Bearer <token>`, the
//!   scheme matched case-insensitively; another header may hold the token bare or after the
//!   prefix), else from the cookie `cookie_name` (`token.rs`).
//! - A failure is a 401 with `WWW-Authenticate: Bearer realm="api"` plus, when a token was
//!   sent, `error="invalid_token"` and a description of what was wrong; the token itself is
//!   never echoed.

mod config;
mod keys;
mod rejection;
pub(crate) mod ring_provider;
mod token;

use std::borrow::Cow;
use std::collections::HashSet;

use cello_http::Request;
use http::HeaderValue;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::Value;

pub use config::JwtConfig;
pub use keys::MIN_SECRET_LENGTH;

use keys::Keys;
use rejection::Rejection;
use token::TokenSource;

use super::{Refusal, SkipPaths};
use crate::error::ConfigError;

/// The longest token read; longer ones are refused before any parsing.
pub const MAX_TOKEN_LENGTH: usize = 8192;

/// Where "now" comes from, in seconds since the Unix epoch: `exp` and `nbf` are wall-clock
/// times, so the monotonic `crate::clock::Clock` of the other layers does not do.
#[derive(Clone, Copy, Debug)]
pub(crate) enum WallClock {
    System,
    /// A fixed time, for tests.
    #[cfg(test)]
    Fixed(u64),
}

impl WallClock {
    fn now(self) -> u64 {
        match self {
            Self::System => jsonwebtoken::get_current_timestamp(),
            #[cfg(test)]
            Self::Fixed(now) => now,
        }
    }
}

/// The JWT layer.
#[derive(Debug)]
pub struct JwtAuth {
    algorithm: Algorithm,
    algorithm_name: &'static str,
    keys: Keys,
    validation: Validation,
    source: TokenSource,
    leeway: u64,
    pub(crate) skip: SkipPaths,
    pub(crate) clock: WallClock,
}

impl JwtAuth {
    /// Validates `config` and loads its keys (reading `public_key` or `jwks` files).
    pub fn new(config: &JwtConfig) -> Result<Self, ConfigError> {
        ring_provider::install();
        let (algorithm_name, algorithm) = config::algorithm(&config.algorithm)?;
        let keys = Keys::load(config, algorithm)?;
        let mut validation = Validation::new(algorithm);
        // exp and nbf are checked here, against `clock`; jsonwebtoken still requires exp.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = config.leeway;
        let mut required = HashSet::from(["exp".to_owned()]);
        if !config.issuer.is_empty() {
            validation.set_issuer(&config.issuer);
            required.insert("iss".into());
        }
        if !config.audience.is_empty() {
            validation.set_audience(&config.audience);
            required.insert("aud".into());
        }
        validation.required_spec_claims = required;
        Ok(Self {
            algorithm,
            algorithm_name,
            keys,
            validation,
            source: TokenSource::new(config)?,
            leeway: config.leeway,
            skip: SkipPaths::new("JwtConfig", &config.skip_paths)?,
            clock: WallClock::System,
        })
    }

    /// The claims of the request's token, or why it was refused.
    pub(crate) fn authenticate(&self, request: &Request) -> Result<Value, Refusal> {
        let result = match self.source.read(request.headers()) {
            Ok(token) => self.verify(&token),
            Err(rejection) => Err(rejection),
        };
        result.map_err(|rejection| self.challenge(rejection))
    }

    fn challenge(&self, rejection: Rejection) -> Refusal {
        let description = rejection.description();
        let detail: Cow<'static, str> = match rejection {
            Rejection::Missing => format!("{description}: {}", self.source.expected()).into(),
            Rejection::Algorithm => format!("{description} ({})", self.algorithm_name).into(),
            _ => description.into(),
        };
        // RFC 6750 section 3: no error code when the request carried no token at all
        let challenge = if rejection == Rejection::Missing {
            HeaderValue::from_static("Bearer realm=\"api\"")
        } else {
            // fixed ASCII texts without quotes or backslashes: nothing to escape
            HeaderValue::from_str(&format!(
                "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"{detail}\""
            ))
            .expect("fixed ASCII text")
        };
        Refusal::new(challenge, detail)
    }

    fn verify(&self, token: &str) -> Result<Value, Rejection> {
        if token.len() > MAX_TOKEN_LENGTH {
            return Err(Rejection::TooLong);
        }
        let (alg, kid) = token::peek_header(token)?;
        if alg != self.algorithm_name {
            return Err(Rejection::Algorithm);
        }
        let key = self.keys.select(kid.as_deref())?;
        let data = jsonwebtoken::decode::<Value>(token, key, &self.validation)
            .map_err(|e| Rejection::from_error(e.kind()))?;
        debug_assert_eq!(data.header.alg, self.algorithm);
        let claims = data.claims;
        let Some(object) = claims.as_object() else {
            return Err(Rejection::Malformed);
        };
        // RFC 7519: iss and sub are single strings (jsonwebtoken also takes a list for iss)
        if ["iss", "sub"]
            .iter()
            .any(|claim| object.get(*claim).is_some_and(|value| !value.is_string()))
        {
            return Err(Rejection::ClaimType);
        }
        let now = self.clock.now() as f64;
        let leeway = self.leeway as f64;
        match object.get("exp").map(Value::as_f64) {
            Some(Some(exp)) if now >= exp + leeway => return Err(Rejection::Expired),
            Some(Some(_)) => {}
            Some(None) => return Err(Rejection::ClaimType),
            None => return Err(Rejection::MissingExpiry),
        }
        match object.get("nbf").map(Value::as_f64) {
            Some(Some(nbf)) if now + leeway < nbf => return Err(Rejection::NotYetValid),
            Some(None) => return Err(Rejection::ClaimType),
            _ => {}
        }
        Ok(claims)
    }
}
