//! The JWT layer's options, and the algorithms it knows.

use jsonwebtoken::Algorithm;

use crate::error::ConfigError;

/// The algorithms, by their JOSE names.
const ALGORITHMS: [(&str, Algorithm); 12] = [
    ("HS256", Algorithm::HS256),
    ("HS384", Algorithm::HS384),
    ("HS512", Algorithm::HS512),
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("PS256", Algorithm::PS256),
    ("PS384", Algorithm::PS384),
    ("PS512", Algorithm::PS512),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
    ("EdDSA", Algorithm::EdDSA),
];

/// Options of the JWT layer. The first seven are the original `JwtConfig`'s.
#[derive(Clone)]
pub struct JwtConfig {
    /// The HMAC secret, for HS256/HS384/HS512 (at least 32 bytes). Must be unset for the
    /// public-key algorithms.
    pub secret: Option<Vec<u8>>,
    /// The one algorithm accepted: HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384,
    /// PS512, ES256, ES384 or EdDSA.
    pub algorithm: String,
    /// The header carrying the token.
    pub header_name: String,
    /// The scheme before the token: required in `Authorization`, optional in another
    /// header; empty for a bare token.
    pub header_prefix: String,
    /// A cookie carrying the token, read when the header has none.
    pub cookie_name: Option<String>,
    /// Seconds of clock skew allowed on `exp` and `nbf`.
    pub leeway: u64,
    /// Accepted issuers (`iss`); empty: any issuer, and `iss` is not required.
    pub issuer: Vec<String>,
    /// Accepted audiences (`aud`); empty: tokens carrying `aud` are refused.
    pub audience: Vec<String>,
    /// For the public-key algorithms: the PEM public key (`-----BEGIN PUBLIC KEY-----`,
    /// or a certificate), as text or as the path of a file holding it.
    pub public_key: Option<String>,
    /// For the public-key algorithms, instead of `public_key`: a JWKS, as JSON text or the
    /// path of a file holding it; the token's `kid` picks the key. Read once at start-up.
    pub jwks: Option<String>,
    /// Paths that need no token (the rule is in the `auth` module's documentation).
    pub skip_paths: Vec<String>,
}

impl Default for JwtConfig {
    /// HS256 from `Authorization: Bearer`, no key yet: set `secret` (or `algorithm` and
    /// `public_key`/`jwks`) before building the layer.
    fn default() -> Self {
        Self {
            secret: None,
            algorithm: "HS256".into(),
            header_name: "Authorization".into(),
            header_prefix: "Bearer".into(),
            cookie_name: None,
            leeway: 0,
            issuer: Vec::new(),
            audience: Vec::new(),
            public_key: None,
            jwks: None,
            skip_paths: Vec::new(),
        }
    }
}

impl std::fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtConfig")
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("algorithm", &self.algorithm)
            .field("header_name", &self.header_name)
            .field("header_prefix", &self.header_prefix)
            .field("cookie_name", &self.cookie_name)
            .field("leeway", &self.leeway)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("public_key", &self.public_key)
            .field("jwks", &self.jwks)
            .field("skip_paths", &self.skip_paths)
            .finish()
    }
}

/// The JOSE name and the algorithm named `name` (case-insensitive).
pub(crate) fn algorithm(name: &str) -> Result<(&'static str, Algorithm), ConfigError> {
    if name.eq_ignore_ascii_case("none") {
        return Err(ConfigError::invalid(
            "JwtConfig algorithm \"none\" would accept unsigned tokens, which anyone can make: \
             use HS256 with a secret, or the algorithm your issuer signs with",
        ));
    }
    ALGORITHMS
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .copied()
        .ok_or_else(|| {
            let names: Vec<&str> = ALGORITHMS.iter().map(|(n, _)| *n).collect();
            ConfigError::invalid(format!(
                "JwtConfig algorithm {name:?} is not supported; use one of {}",
                names.join(", ")
            ))
        })
}
