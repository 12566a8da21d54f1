//! Cello's built-in middleware, with no Python in it.
//!
//! Each middleware is a module with its config struct and its layer; a [`Chain`] is
//! built once from the enabled layers, sorted into a fixed order (request id → CORS →
//! security headers → rate limit → ... → compression), and frozen. It runs in front of
//! any cello-http [`Handler`](cello_http::Handler) ([`Layered`]); an app with no
//! middleware has no chain at all, so it costs nothing.
//!
//! Layers speak `http` and `bytes` through cello-http's `Request` and `Response`.
//! A response made by a layer (a preflight, a 429) still passes through the layers
//! outside it on its way out.

pub mod auth;
pub mod cache;
mod chain;
pub mod circuit_breaker;
mod clock;
pub mod compression;
mod cookie;
pub mod cors;
pub mod csrf;
mod error;
pub mod etag;
mod lru;
pub mod rate_limit;
pub mod request_id;
mod secret;
pub mod security_headers;
pub mod session;
pub mod static_files;
pub mod store;
#[cfg(test)]
mod test_support;
mod vary;

pub use auth::{
    ApiKeyAuth, ApiKeyConfig, Auth, AuthClaims, BasicAuth, BasicAuthConfig, JwtAuth, JwtConfig,
};
pub use cache::{Cache, CacheConfig};
pub use chain::{Chain, Exchange, Layer, Layered};
pub use circuit_breaker::{CircuitBreaker, CircuitBreakerConfig};
pub use compression::{Compression, CompressionConfig};
pub use cookie::SameSite;
pub use cors::{Cors, CorsConfig};
pub use csrf::{Csrf, CsrfConfig, CsrfToken};
pub use error::{ConfigError, StoreError};
pub use etag::{Etag, EtagConfig};
pub use rate_limit::{OnStoreError, RateLimit, RateLimitAlgorithm, RateLimitConfig, RateLimitKey};
pub use request_id::{RequestId, RequestIdConfig, RequestIdValue};
pub use security_headers::{SecurityHeaders, SecurityHeadersConfig};
pub use session::{Session, SessionConfig, SessionError, SessionHandle};
pub use static_files::{StaticFiles, StaticFilesConfig};
pub use store::{MemoryStore, MemoryStoreConfig, Store, StoreConfig};
#[cfg(feature = "redis")]
pub use store::{RedisStore, RedisStoreConfig};

// Every code block in the README compiles as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
