//! Authentication: JWT bearer tokens ([`jwt`]), HTTP Basic ([`basic`]) and API keys
//! ([`api_key`]). One of them at a time: they are one layer of the chain (rank 50, after
//! the rate limit and before the handler), so enabling two is a `ConfigError`.
//!
//! Every scheme works the same way:
//! - `OPTIONS` requests pass through unchallenged (a CORS preflight carries no credentials;
//!   with CORS off, `OPTIONS` still must not be a 401);
//! - requests whose path is in `skip_paths` pass through without credentials (valid ones
//!   are still read, so a public page can know its user; invalid ones are ignored there);
//! - missing or bad credentials get a 401 problem+json with a `WWW-Authenticate`
//!   challenge, never a 500 and never an echo of what the client sent;
//! - on success the identity goes into the request's extensions as [`AuthClaims`], which
//!   the Python binding exposes as `request.context["user"]` and `request.user`.
//!
//! The `skip_paths` rule: a skip path ending in `*` matches every path that starts with the
//! text before the `*` (`/public*` matches `/public`, `/public/x` and `/publications`); any
//! other skip path matches itself and what lies below it, segment by segment (`/health`
//! matches `/health` and `/health/live`, not `/healthz`; `/static/` matches everything
//! under `/static/`). Paths are compared as received, still percent-encoded, as the router
//! compares them, so `/%68ealth` is not `/health` (and reaches no `/health` route either).

pub mod api_key;
pub mod basic;
pub mod jwt;

use std::borrow::Cow;

use cello_http::{problem_response, Request, Response};
use http::header::WWW_AUTHENTICATE;
use http::{HeaderValue, Method, StatusCode};
use ring::digest;
use subtle::ConstantTimeEq;

use crate::chain::Exchange;
use crate::error::ConfigError;

pub use api_key::{ApiKeyAuth, ApiKeyConfig};
pub use basic::{BasicAuth, BasicAuthConfig};
pub use jwt::{JwtAuth, JwtConfig};

/// Who made the request, in its extensions: a JWT's claims, or
/// `{"sub": <user>, "auth": "basic"}`, or an API key's claims. Always a JSON object.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthClaims(pub serde_json::Value);

/// The authentication layer: one of the three schemes.
#[derive(Debug)]
#[non_exhaustive]
pub enum Auth {
    /// Boxed: a JWT layer (its validation rules, its keys) is several times the size of
    /// the other layers.
    Jwt(Box<JwtAuth>),
    Basic(BasicAuth),
    ApiKey(ApiKeyAuth),
}

impl Auth {
    pub(crate) fn before(
        &self,
        request: &mut Request,
        _exchange: &mut Exchange,
    ) -> Option<Response> {
        let (skip, outcome) = match self {
            Self::Jwt(layer) => (&layer.skip, layer.authenticate(request)),
            Self::Basic(layer) => (&layer.skip, layer.authenticate(request)),
            Self::ApiKey(layer) => (&layer.skip, layer.authenticate(request)),
        };
        match outcome {
            Ok(claims) => {
                request.extensions_mut().insert(AuthClaims(claims));
                None
            }
            Err(_) if skip.exempt(request) => None,
            Err(refusal) => Some(refusal.into_response()),
        }
    }
}

impl From<JwtAuth> for crate::Layer {
    fn from(layer: JwtAuth) -> Self {
        Self::Auth(Auth::Jwt(Box::new(layer)))
    }
}

impl From<BasicAuth> for crate::Layer {
    fn from(layer: BasicAuth) -> Self {
        Self::Auth(Auth::Basic(layer))
    }
}

impl From<ApiKeyAuth> for crate::Layer {
    fn from(layer: ApiKeyAuth) -> Self {
        Self::Auth(Auth::ApiKey(layer))
    }
}

/// Paths that need no credentials (the rule is in the module's documentation), and
/// `OPTIONS`.
#[derive(Debug, Default)]
pub(crate) struct SkipPaths {
    paths: Box<[Skip]>,
}

#[derive(Debug)]
enum Skip {
    Prefix(Box<str>),
    Subtree(Box<str>),
}

impl SkipPaths {
    pub(crate) fn new(what: &str, paths: &[String]) -> Result<Self, ConfigError> {
        let mut out = Vec::with_capacity(paths.len());
        for path in paths {
            if !path.starts_with('/') {
                return Err(ConfigError::invalid(format!(
                    "{what} skip_paths: {path:?} must start with \"/\" (a path like \"/health\" \
                     or a prefix like \"/public*\")"
                )));
            }
            out.push(match path.strip_suffix('*') {
                Some(prefix) => Skip::Prefix(prefix.into()),
                None => Skip::Subtree(path.as_str().into()),
            });
        }
        Ok(Self {
            paths: out.into_boxed_slice(),
        })
    }

    /// Whether `request` passes without credentials.
    pub(crate) fn exempt(&self, request: &Request) -> bool {
        request.method() == Method::OPTIONS || self.matches(request.uri().path())
    }

    pub(crate) fn matches(&self, path: &str) -> bool {
        self.paths.iter().any(|skip| match skip {
            Skip::Prefix(prefix) => path.starts_with(&**prefix),
            Skip::Subtree(root) => path.strip_prefix(&**root).is_some_and(|rest| {
                rest.is_empty() || root.ends_with('/') || rest.starts_with('/')
            }),
        })
    }
}

/// Why a request's credentials were refused: the `WWW-Authenticate` challenge and the
/// problem's `detail`. Made into a 401 only when the path is not skipped.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) challenge: HeaderValue,
    pub(crate) detail: Cow<'static, str>,
}

impl Refusal {
    pub(crate) fn new(challenge: HeaderValue, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            challenge,
            detail: detail.into(),
        }
    }

    /// A 401 problem+json with the challenge.
    pub(crate) fn into_response(self) -> Response {
        let mut response = problem_response(StatusCode::UNAUTHORIZED, &self.detail);
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, self.challenge);
        response
    }
}

/// A configured secret (a password, an API key), kept as its SHA-256 so that comparing
/// it with what a client sent takes the same time whatever the lengths and contents: both
/// sides are hashed, then the digests are compared in constant time.
#[derive(Clone)]
pub(crate) struct SecretDigest([u8; 32]);

impl SecretDigest {
    pub(crate) fn of(secret: &[u8]) -> Self {
        let mut out = [0; 32];
        out.copy_from_slice(digest::digest(&digest::SHA256, secret).as_ref());
        Self(out)
    }

    pub(crate) fn matches(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl std::fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretDigest(..)")
    }
}

/// The index of the entry of `entries` that `candidate` matches, looking at every entry
/// whatever matched, so that the time taken does not tell which entry (if any) it was.
pub(crate) fn find_constant_time<T>(
    entries: &[T],
    candidate: impl Fn(&T) -> subtle::Choice,
) -> Option<usize> {
    use subtle::ConditionallySelectable;
    let mut found = subtle::Choice::from(0);
    let mut index = 0u64;
    for (i, entry) in entries.iter().enumerate() {
        let hit = candidate(entry);
        index.conditional_assign(&(i as u64), hit);
        found |= hit;
    }
    bool::from(found).then_some(index as usize)
}

#[cfg(test)]
mod tests;
