//! JWT with public keys: RSA (committed test keys: ring cannot generate RSA), ECDSA and
//! Ed25519 (generated here with ring), PEM text or files, JWKS chosen by `kid`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use data_encoding::{BASE64, BASE64URL_NOPAD};
use http::StatusCode;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::rand::SystemRandom;
use ring::signature::{self as sig, KeyPair as _};
use serde_json::{json, Value};

use super::jwt::{assert_invalid_token, claims, get_with_token, layer, sign};
use crate::auth::jwt::ring_provider;
use crate::{JwtAuth, JwtConfig};

const RSA_PRIVATE: &str = include_str!("../../../tests/keys/rsa_private.pem");
const RSA_PUBLIC: &str = include_str!("../../../tests/keys/rsa_public.pem");
const RSA_OTHER_PRIVATE: &str = include_str!("../../../tests/keys/rsa_other_private.pem");

/// A key pair made for one test: the signing key and the public key as PEM text.
struct Generated {
    signing: EncodingKey,
    public_pem: String,
    /// The raw public key: the EC point (0x04 || x || y) or the Ed25519 key.
    public: Vec<u8>,
}

fn pem(spki: &[u8]) -> String {
    let text = BASE64.encode(spki);
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    )
}

fn ecdsa(algorithm: &'static sig::EcdsaSigningAlgorithm, spki_prefix: &[u8]) -> Generated {
    let random = SystemRandom::new();
    let pkcs8 = sig::EcdsaKeyPair::generate_pkcs8(algorithm, &random).unwrap();
    let pair = sig::EcdsaKeyPair::from_pkcs8(algorithm, pkcs8.as_ref(), &random).unwrap();
    let public = pair.public_key().as_ref().to_vec();
    Generated {
        signing: EncodingKey::from_ec_der(pkcs8.as_ref()),
        public_pem: pem(&[spki_prefix, &public].concat()),
        public,
    }
}

// SubjectPublicKeyInfo headers (RFC 5480, RFC 8410): the DER before the raw public key
const P256_SPKI: &[u8] = b"\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07\x03\x42\x00";
const P384_SPKI: &[u8] =
    b"\x30\x76\x30\x10\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x05\x2b\x81\x04\x00\x22\x03\x62\x00";
const ED25519_SPKI: &[u8] = b"\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00";

fn p256() -> Generated {
    ecdsa(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, P256_SPKI)
}

fn ed25519() -> Generated {
    let pkcs8 = sig::Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = sig::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let public = pair.public_key().as_ref().to_vec();
    Generated {
        signing: EncodingKey::from_ed_der(pkcs8.as_ref()),
        public_pem: pem(&[ED25519_SPKI, &public].concat()),
        public,
    }
}

fn with_key(algorithm: &str, public_key: &str) -> JwtConfig {
    JwtConfig {
        algorithm: algorithm.into(),
        public_key: Some(public_key.into()),
        ..JwtConfig::default()
    }
}

/// A file under the system's temporary directory, unique to this process and call.
fn temp_file(name: &str, contents: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("cello-auth-{}-{n}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

fn rsa_signing() -> EncodingKey {
    EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap()
}

#[tokio::test]
async fn rsa_tokens_verify_with_the_public_key() {
    let file = temp_file("rsa.pem", RSA_PUBLIC);
    for (name, algorithm) in [
        ("RS256", Algorithm::RS256),
        ("RS384", Algorithm::RS384),
        ("RS512", Algorithm::RS512),
        ("PS256", Algorithm::PS256),
        ("PS512", Algorithm::PS512),
    ] {
        for source in [RSA_PUBLIC, file.to_str().unwrap()] {
            let chain = layer(&with_key(name, source));
            let token = sign(algorithm, &claims(), &rsa_signing());
            assert_eq!(
                get_with_token(&chain, &token).await.user(),
                claims(),
                "{name}"
            );
        }
    }
    let chain = layer(&with_key("RS256", RSA_PUBLIC));
    let other = EncodingKey::from_rsa_pem(RSA_OTHER_PRIVATE.as_bytes()).unwrap();
    let forged = sign(Algorithm::RS256, &claims(), &other);
    assert_invalid_token(
        &get_with_token(&chain, &forged).await,
        "signature is invalid",
        &forged,
    );
    let pss = sign(Algorithm::PS256, &claims(), &rsa_signing());
    assert_invalid_token(&get_with_token(&chain, &pss).await, "(RS256)", &pss);
    std::fs::remove_file(file).unwrap();
}

#[tokio::test]
async fn an_hs256_token_signed_with_the_public_key_is_refused() {
    // Algorithm confusion: a verifier that let the token pick its algorithm would use the
    // RSA public key (known to everyone) as an HMAC secret.
    let chain = layer(&with_key("RS256", RSA_PUBLIC));
    let confused = sign(
        Algorithm::HS256,
        &claims(),
        &EncodingKey::from_secret(RSA_PUBLIC.as_bytes()).unwrap(),
    );
    assert_invalid_token(
        &get_with_token(&chain, &confused).await,
        "not signed with the algorithm this server accepts (RS256)",
        &confused,
    );
    // and the crypto provider itself never uses an RSA key as an HMAC secret
    ring_provider::install();
    let rsa_key = DecodingKey::from_rsa_pem(RSA_PUBLIC.as_bytes()).unwrap();
    let error =
        jsonwebtoken::decode::<Value>(&confused, &rsa_key, &Validation::new(Algorithm::HS256))
            .unwrap_err();
    assert!(
        matches!(
            error.kind(),
            jsonwebtoken::errors::ErrorKind::InvalidKeyFormat
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn ecdsa_and_eddsa_tokens_verify_with_generated_keys() {
    let es256 = p256();
    let chain = layer(&with_key("ES256", &es256.public_pem));
    let token = sign(Algorithm::ES256, &claims(), &es256.signing);
    assert_eq!(get_with_token(&chain, &token).await.user(), claims());
    let stranger = sign(Algorithm::ES256, &claims(), &p256().signing);
    assert_invalid_token(
        &get_with_token(&chain, &stranger).await,
        "signature is invalid",
        &stranger,
    );

    let es384 = ecdsa(&sig::ECDSA_P384_SHA384_FIXED_SIGNING, P384_SPKI);
    let chain = layer(&with_key("ES384", &es384.public_pem));
    let token = sign(Algorithm::ES384, &claims(), &es384.signing);
    assert_eq!(get_with_token(&chain, &token).await.status, StatusCode::OK);

    let ed = ed25519();
    let chain = layer(&with_key("EdDSA", &ed.public_pem));
    let token = sign(Algorithm::EdDSA, &claims(), &ed.signing);
    assert_eq!(get_with_token(&chain, &token).await.user(), claims());
    let stranger = sign(Algorithm::EdDSA, &claims(), &ed25519().signing);
    assert_invalid_token(
        &get_with_token(&chain, &stranger).await,
        "signature is invalid",
        &stranger,
    );
}

fn ec_jwk(kid: &str, key: &Generated) -> Value {
    let (x, y) = key.public[1..].split_at(32);
    json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
           "x": BASE64URL_NOPAD.encode(x), "y": BASE64URL_NOPAD.encode(y)})
}

fn sign_with_kid(algorithm: Algorithm, kid: Option<&str>, key: &EncodingKey) -> String {
    let mut header = Header::new(algorithm);
    header.kid = kid.map(String::from);
    ring_provider::install();
    jsonwebtoken::encode(&header, &claims(), key).unwrap()
}

#[tokio::test]
async fn a_jwks_key_is_chosen_by_kid() {
    let (first, second) = (p256(), p256());
    let jwks = json!({"keys": [
        ec_jwk("first", &first),
        ec_jwk("second", &second),
        {"kty": "EC", "crv": "P-256", "kid": "encryption", "use": "enc", "x": "AA", "y": "AA"},
        {"kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB"},
    ]});
    let file = temp_file("jwks.json", &jwks.to_string());
    let config = JwtConfig {
        algorithm: "ES256".into(),
        jwks: Some(file.to_str().unwrap().into()),
        ..JwtConfig::default()
    };
    let chain = layer(&config);
    for (kid, key) in [("first", &first), ("second", &second)] {
        let token = sign_with_kid(Algorithm::ES256, Some(kid), &key.signing);
        assert_eq!(
            get_with_token(&chain, &token).await.status,
            StatusCode::OK,
            "{kid}"
        );
    }
    let swapped = sign_with_kid(Algorithm::ES256, Some("first"), &second.signing);
    assert_invalid_token(
        &get_with_token(&chain, &swapped).await,
        "signature is invalid",
        &swapped,
    );
    let unknown = sign_with_kid(Algorithm::ES256, Some("rsa"), &first.signing);
    assert_invalid_token(
        &get_with_token(&chain, &unknown).await,
        "key id (kid) is not one of",
        &unknown,
    );
    let anonymous = sign_with_kid(Algorithm::ES256, None, &first.signing);
    assert_invalid_token(
        &get_with_token(&chain, &anonymous).await,
        "has no key id (kid)",
        &anonymous,
    );
    std::fs::remove_file(file).unwrap();

    // an RSA JWKS (inline JSON) made from the private key; one key: no kid needed
    ring_provider::install();
    let jwk = Jwk::from_encoding_key(&rsa_signing(), Algorithm::RS256).unwrap();
    let set = serde_json::to_string(&JwkSet { keys: vec![jwk] }).unwrap();
    let chain = layer(&JwtConfig {
        algorithm: "RS256".into(),
        jwks: Some(set),
        ..JwtConfig::default()
    });
    let token = sign_with_kid(Algorithm::RS256, None, &rsa_signing());
    assert_eq!(get_with_token(&chain, &token).await.user(), claims());
}

fn config_error(config: &JwtConfig) -> String {
    JwtAuth::new(config).unwrap_err().to_string()
}

#[test]
fn bad_key_configurations_are_refused_naming_the_option() {
    let missing = "/nonexistent/cello/key.pem";
    let es256 = p256();
    let cases = [
        (
            with_key("RS256", missing),
            "JwtConfig public_key: cannot read \"/nonexistent/cello/key.pem\"",
        ),
        (
            with_key(
                "RS256",
                "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n",
            ),
            "is not a PEM public key for RS256",
        ),
        (with_key("RS256", RSA_PRIVATE), "holds a private key"),
        (
            with_key("ES256", RSA_PUBLIC),
            "is not a PEM public key for ES256",
        ),
        (
            with_key("ES384", &es256.public_pem),
            "the key is not a P-384 key, but the algorithm is ES384",
        ),
        (
            with_key("EdDSA", &es256.public_pem),
            "is not a PEM public key for EdDSA",
        ),
        (
            JwtConfig {
                algorithm: "RS256".into(),
                ..JwtConfig::default()
            },
            "set public_key (PEM text or a path to a PEM file) or jwks",
        ),
        (
            JwtConfig {
                secret: Some(vec![b'x'; 40]),
                ..with_key("RS256", RSA_PUBLIC)
            },
            "JwtConfig secret: RS256 verifies with a public key",
        ),
        (
            JwtConfig {
                jwks: Some("{}".into()),
                ..with_key("RS256", RSA_PUBLIC)
            },
            "either public_key or jwks",
        ),
        (
            JwtConfig {
                algorithm: "ES256".into(),
                jwks: Some(missing.into()),
                ..JwtConfig::default()
            },
            "JwtConfig jwks: cannot read",
        ),
        (
            JwtConfig {
                algorithm: "ES256".into(),
                jwks: Some("{\"keys\": 1}".into()),
                ..JwtConfig::default()
            },
            "is not a JWKS",
        ),
        (
            JwtConfig {
                algorithm: "ES256".into(),
                jwks: Some(json!({"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}).to_string()),
                ..JwtConfig::default()
            },
            "holds no key usable for ES256 (1 keys",
        ),
        (
            JwtConfig {
                algorithm: "ES256".into(),
                jwks: Some(
                    json!({"keys": [ec_jwk("a", &es256), ec_jwk("b", &p256())]})
                        .to_string()
                        .replace("\"kid\":\"b\",", ""),
                ),
                ..JwtConfig::default()
            },
            "each needs a \"kid\"",
        ),
    ];
    for (config, expected) in cases {
        let error = config_error(&config);
        assert!(
            error.contains(expected),
            "{error:?} should say {expected:?}"
        );
    }
}
