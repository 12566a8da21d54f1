//! The keys a JWT layer verifies with, loaded once at start-up: an HMAC secret, one public
//! key (PEM text or a PEM file), or the keys of a JWKS (JSON text or a file) chosen by the
//! token's `kid`.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind};

use super::config::JwtConfig;
use super::rejection::Rejection;
use crate::error::ConfigError;

/// The shortest HMAC secret accepted, in bytes. RFC 7518 §3.2 asks for the hash size (32
/// bytes for HS256, 48 and 64 for HS384 and HS512); 32 bytes of key are out of reach of
/// brute force whatever the hash, so 32 is what every HS algorithm must have.
pub const MIN_SECRET_LENGTH: usize = 32;

#[derive(Debug)]
pub(crate) enum Keys {
    /// A secret or a single public key: the token's `kid` is not looked at.
    One(DecodingKey),
    /// A JWKS: the token's `kid` picks the key (a token without one is accepted only when
    /// the set holds a single key).
    Set(Vec<(Option<String>, DecodingKey)>),
}

impl Keys {
    pub(crate) fn load(config: &JwtConfig, algorithm: Algorithm) -> Result<Self, ConfigError> {
        let name = format!("{algorithm:?}");
        let secret = config.secret.as_deref().filter(|s| !s.is_empty());
        if algorithm.family() == AlgorithmFamily::Hmac {
            if config.public_key.is_some() || config.jwks.is_some() {
                return Err(ConfigError::invalid(format!(
                    "JwtConfig: {name} verifies with the shared secret; public_key and jwks are \
                     for RS*, PS*, ES* and EdDSA (set algorithm to the one your issuer signs with)"
                )));
            }
            return Ok(Self::One(hmac_key(secret, &name)?));
        }
        if secret.is_some() {
            return Err(ConfigError::invalid(format!(
                "JwtConfig secret: {name} verifies with a public key, not a shared secret; \
                 give it as public_key (PEM text or a path) or jwks (a JWKS file)"
            )));
        }
        match (&config.public_key, &config.jwks) {
            (Some(_), Some(_)) => Err(ConfigError::invalid(
                "JwtConfig: give either public_key or jwks, not both",
            )),
            (Some(source), None) => Ok(Self::One(public_key(source, algorithm, &name)?)),
            (None, Some(source)) => key_set(source, algorithm, &name),
            (None, None) => Err(ConfigError::invalid(format!(
                "JwtConfig: {name} verifies with a public key: set public_key (PEM text or a \
                 path to a PEM file) or jwks (a JWKS file or its JSON text)"
            ))),
        }
    }

    /// The key for a token whose header names `kid`.
    pub(crate) fn select(&self, kid: Option<&str>) -> Result<&DecodingKey, Rejection> {
        match (self, kid) {
            (Self::One(key), _) => Ok(key),
            (Self::Set(keys), Some(kid)) => keys
                .iter()
                .find(|(id, _)| id.as_deref() == Some(kid))
                .map(|(_, key)| key)
                .ok_or(Rejection::UnknownKey),
            (Self::Set(keys), None) if keys.len() == 1 => Ok(&keys[0].1),
            (Self::Set(_), None) => Err(Rejection::NoKeyId),
        }
    }
}

fn hmac_key(secret: Option<&[u8]>, name: &str) -> Result<DecodingKey, ConfigError> {
    let Some(secret) = secret else {
        return Err(ConfigError::invalid(format!(
            "JwtConfig secret is required for {name}"
        )));
    };
    if secret.starts_with(b"-----BEGIN") {
        // An HMAC secret that is a public key is the set-up of the algorithm-confusion attack:
        // anyone holding the public key could sign tokens.
        return Err(ConfigError::invalid(format!(
            "JwtConfig secret looks like a PEM key, but {name} uses it as a shared HMAC secret, \
             which anyone with the key could then sign with: for a public key set \
             algorithm=\"RS256\" (or the one your issuer uses) and public_key"
        )));
    }
    if secret.len() < MIN_SECRET_LENGTH {
        return Err(ConfigError::invalid(format!(
            "JwtConfig secret is {} bytes; {name} needs at least {MIN_SECRET_LENGTH} random bytes \
             (RFC 7518 section 3.2), for example python -c \"import secrets; \
             print(secrets.token_urlsafe(32))\"",
            secret.len()
        )));
    }
    DecodingKey::from_secret(secret)
        .map_err(|e| ConfigError::invalid(format!("JwtConfig secret: {e}")))
}

/// PEM text, or a path to a file holding it.
fn read_source(
    option: &str,
    source: &str,
    looks_inline: bool,
) -> Result<(String, String), ConfigError> {
    if looks_inline {
        return Ok((source.to_owned(), format!("JwtConfig {option}")));
    }
    let text = std::fs::read_to_string(source).map_err(|e| {
        ConfigError::invalid(format!(
            "JwtConfig {option}: cannot read {source:?} ({e}); give a readable file or the \
             text itself"
        ))
    })?;
    Ok((text, format!("JwtConfig {option} ({source})")))
}

fn public_key(source: &str, algorithm: Algorithm, name: &str) -> Result<DecodingKey, ConfigError> {
    let inline = source.trim_start().starts_with("-----BEGIN");
    let (pem, what) = read_source("public_key", source, inline)?;
    if pem.contains("PRIVATE KEY-----") {
        return Err(ConfigError::invalid(format!(
            "{what} holds a private key; give the public key only (openssl pkey -in key.pem \
             -pubout), the private key stays with the issuer"
        )));
    }
    let bytes = pem.as_bytes();
    let parsed = match algorithm.family() {
        AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(bytes),
        AlgorithmFamily::Ec => DecodingKey::from_ec_pem(bytes),
        _ => DecodingKey::from_ed_pem(bytes),
    };
    let key = parsed.map_err(|e| {
        ConfigError::invalid(format!(
            "{what} is not a PEM public key for {name} ({e}): expected \"-----BEGIN PUBLIC \
             KEY-----\" holding {}",
            family_key(algorithm)
        ))
    })?;
    check_shape(&key, algorithm).map_err(|problem| {
        ConfigError::invalid(format!("{what}: {problem}, but the algorithm is {name}"))
    })?;
    Ok(key)
}

fn family_key(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::ES256 => "a P-256 key",
        Algorithm::ES384 => "a P-384 key",
        Algorithm::EdDSA => "an Ed25519 key",
        _ => "an RSA key",
    }
}

/// The PEM parser accepts any EC curve and any OKP key; ring needs the exact one.
fn check_shape(key: &DecodingKey, algorithm: Algorithm) -> Result<(), String> {
    let DecodingKeyKind::SecretOrDer(bytes) = key.kind() else {
        return Ok(());
    };
    let expected = match algorithm {
        Algorithm::ES256 => 65,
        Algorithm::ES384 => 97,
        Algorithm::EdDSA => 32,
        _ => return Ok(()),
    };
    if bytes.len() == expected {
        Ok(())
    } else {
        Err(format!("the key is not {}", family_key(algorithm)))
    }
}

fn key_set(source: &str, algorithm: Algorithm, name: &str) -> Result<Keys, ConfigError> {
    let inline = source.trim_start().starts_with('{');
    let (json, what) = read_source("jwks", source, inline)?;
    let set: JwkSet = serde_json::from_str(&json).map_err(|e| {
        ConfigError::invalid(format!(
            "{what} is not a JWKS ({e}): expected {{\"keys\": [{{\"kty\": ..., \"kid\": ...}}]}}"
        ))
    })?;
    let wanted = KeyAlgorithm::from(algorithm);
    let mut keys = Vec::new();
    for jwk in &set.keys {
        let usable_use =
            !matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature);
        let usable_alg = jwk.common.key_algorithm.is_none_or(|a| a == wanted);
        let usable_kind = match (&jwk.algorithm, algorithm.family()) {
            (AlgorithmParameters::RSA(_), AlgorithmFamily::Rsa) => true,
            (AlgorithmParameters::EllipticCurve(ec), AlgorithmFamily::Ec) => {
                ec.curve
                    == if algorithm == Algorithm::ES256 {
                        EllipticCurve::P256
                    } else {
                        EllipticCurve::P384
                    }
            }
            (AlgorithmParameters::OctetKeyPair(okp), AlgorithmFamily::Ed) => {
                okp.curve == EllipticCurve::Ed25519
            }
            _ => false,
        };
        if !(usable_use && usable_alg && usable_kind) {
            continue;
        }
        let key = DecodingKey::from_jwk(jwk)
            .ok()
            .filter(|key| check_shape(key, algorithm).is_ok());
        if let Some(key) = key {
            keys.push((jwk.common.key_id.clone(), key));
        }
    }
    if keys.is_empty() {
        return Err(ConfigError::invalid(format!(
            "{what} holds no key usable for {name} ({} keys, none of them a signing key of \
             type {} with alg {name} or no alg)",
            set.keys.len(),
            family_key(algorithm)
        )));
    }
    if keys.len() > 1 && keys.iter().any(|(kid, _)| kid.is_none()) {
        return Err(ConfigError::invalid(format!(
            "{what}: with several keys, each needs a \"kid\" so that tokens can name theirs"
        )));
    }
    Ok(Keys::Set(keys))
}
