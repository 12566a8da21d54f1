//! jsonwebtoken's cryptography done by ring.
//!
//! jsonwebtoken 10+ ships two backends, aws-lc-rs and RustCrypto; both would add a second
//! crypto library to a binary that already links ring for rustls. Its `CryptoProvider` is
//! a table of functions, so this module fills it with ring's primitives instead. A key is
//! only ever used with the algorithm family it was made for (an RSA public key is never an
//! HMAC secret), which is the crypto-level half of the defence against algorithm
//! confusion; the other half is the pinned algorithm in `jwt.rs`.

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{new_error, Error, ErrorKind};
use jsonwebtoken::jwk::{EllipticCurve, ThumbprintHash};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{self as sig, KeyPair as _};
use ring::{digest, hmac};

/// The provider; [`install`] makes it jsonwebtoken's process-wide default.
static RING: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: rsa_components,
        rsa_pub_components_from_public_key: |_| Err(unsupported("RSA public key components")),
        ec_pub_components_from_private_key: ec_components,
        ed_pub_components_from_private_key: ed_components,
        compute_digest,
    },
};

/// Installs the ring provider unless one is installed already (jsonwebtoken allows one per
/// process; any other provider verifies tokens just as well).
pub(crate) fn install() {
    if CryptoProvider::try_get_default().is_none() {
        let _ = CryptoProvider::install_default(&RING);
    }
}

fn unsupported(what: &str) -> Error {
    new_error(ErrorKind::Provider(format!(
        "{what}: not supported by cello's ring provider"
    )))
}

fn failed(_: impl std::fmt::Debug) -> signature::Error {
    signature::Error::new()
}

fn check_family(algorithm: Algorithm, family: AlgorithmFamily) -> Result<(), Error> {
    if algorithm.family() == family {
        Ok(())
    } else {
        Err(new_error(ErrorKind::InvalidKeyFormat))
    }
}

fn hmac_algorithm(algorithm: Algorithm) -> Option<hmac::Algorithm> {
    match algorithm {
        Algorithm::HS256 => Some(hmac::HMAC_SHA256),
        Algorithm::HS384 => Some(hmac::HMAC_SHA384),
        Algorithm::HS512 => Some(hmac::HMAC_SHA512),
        _ => None,
    }
}

/// How a public key of one algorithm checks a signature.
#[derive(Clone, Copy)]
enum Scheme {
    Rsa(&'static sig::RsaParameters),
    Ecdsa(&'static sig::EcdsaVerificationAlgorithm),
    Ed25519,
}

fn scheme(algorithm: Algorithm) -> Option<Scheme> {
    Some(match algorithm {
        Algorithm::RS256 => Scheme::Rsa(&sig::RSA_PKCS1_2048_8192_SHA256),
        Algorithm::RS384 => Scheme::Rsa(&sig::RSA_PKCS1_2048_8192_SHA384),
        Algorithm::RS512 => Scheme::Rsa(&sig::RSA_PKCS1_2048_8192_SHA512),
        Algorithm::PS256 => Scheme::Rsa(&sig::RSA_PSS_2048_8192_SHA256),
        Algorithm::PS384 => Scheme::Rsa(&sig::RSA_PSS_2048_8192_SHA384),
        Algorithm::PS512 => Scheme::Rsa(&sig::RSA_PSS_2048_8192_SHA512),
        Algorithm::ES256 => Scheme::Ecdsa(&sig::ECDSA_P256_SHA256_FIXED),
        Algorithm::ES384 => Scheme::Ecdsa(&sig::ECDSA_P384_SHA384_FIXED),
        Algorithm::EdDSA => Scheme::Ed25519,
        _ => return None,
    })
}

struct Hmac {
    algorithm: Algorithm,
    key: hmac::Key,
}

impl Signer<Vec<u8>> for Hmac {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(hmac::sign(&self.key, message).as_ref().to_vec())
    }
}

impl Verifier<Vec<u8>> for Hmac {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        // ring compares in constant time
        hmac::verify(&self.key, message, signature).map_err(failed)
    }
}

impl JwtSigner for Hmac {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

impl JwtVerifier for Hmac {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

struct PublicKey {
    algorithm: Algorithm,
    scheme: Scheme,
    key: DecodingKey,
}

impl Verifier<Vec<u8>> for PublicKey {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        match (self.scheme, self.key.kind()) {
            (Scheme::Rsa(params), DecodingKeyKind::RsaModulusExponent { n, e }) => {
                sig::RsaPublicKeyComponents { n, e }.verify(params, message, signature)
            }
            (Scheme::Rsa(params), DecodingKeyKind::SecretOrDer(der)) => {
                sig::UnparsedPublicKey::new(params, der).verify(message, signature)
            }
            (Scheme::Ecdsa(params), DecodingKeyKind::SecretOrDer(point)) => {
                sig::UnparsedPublicKey::new(params, point).verify(message, signature)
            }
            (Scheme::Ed25519, DecodingKeyKind::SecretOrDer(raw)) => {
                sig::UnparsedPublicKey::new(&sig::ED25519, raw).verify(message, signature)
            }
            _ => return Err(signature::Error::new()),
        }
        .map_err(failed)
    }
}

impl JwtVerifier for PublicKey {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    let algorithm = *algorithm;
    check_family(algorithm, key.family())?;
    if let Some(hash) = hmac_algorithm(algorithm) {
        let key = hmac::Key::new(hash, key.try_get_as_bytes()?);
        return Ok(Box::new(Hmac { algorithm, key }));
    }
    let scheme = scheme(algorithm).ok_or_else(|| new_error(ErrorKind::UnsupportedAlgorithm))?;
    Ok(Box::new(PublicKey {
        algorithm,
        scheme,
        key: key.clone(),
    }))
}

/// Signing: Cello only verifies tokens, but a provider that can sign lets Rust programs
/// and the tests make tokens with `jsonwebtoken::encode`.
enum SigningKey {
    Rsa(sig::RsaKeyPair, &'static dyn sig::RsaEncoding),
    Ecdsa(sig::EcdsaKeyPair),
    Ed25519(sig::Ed25519KeyPair),
}

struct PrivateKey {
    algorithm: Algorithm,
    key: SigningKey,
}

impl Signer<Vec<u8>> for PrivateKey {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let random = SystemRandom::new();
        match &self.key {
            SigningKey::Rsa(pair, padding) => {
                let mut out = vec![0; pair.public().modulus_len()];
                pair.sign(*padding, &random, message, &mut out)
                    .map_err(failed)?;
                Ok(out)
            }
            SigningKey::Ecdsa(pair) => Ok(pair
                .sign(&random, message)
                .map_err(failed)?
                .as_ref()
                .to_vec()),
            SigningKey::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

impl JwtSigner for PrivateKey {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

fn rsa_pair(der: &[u8]) -> Result<sig::RsaKeyPair, Error> {
    // jsonwebtoken keeps PKCS#1 RSAPrivateKey DER from both PEM forms
    sig::RsaKeyPair::from_der(der)
        .or_else(|_| sig::RsaKeyPair::from_pkcs8(der))
        .map_err(|e| new_error(ErrorKind::InvalidRsaKey(e.to_string())))
}

fn ecdsa_pair(algorithm: Algorithm, pkcs8: &[u8]) -> Result<sig::EcdsaKeyPair, Error> {
    let signing = match algorithm {
        Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
        Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
        _ => return Err(new_error(ErrorKind::InvalidEcdsaKey)),
    };
    sig::EcdsaKeyPair::from_pkcs8(signing, pkcs8, &SystemRandom::new())
        .map_err(|_| new_error(ErrorKind::InvalidEcdsaKey))
}

fn ed_pair(pkcs8: &[u8]) -> Result<sig::Ed25519KeyPair, Error> {
    // OpenSSL writes PKCS#8 v1 (no public key inside), which the checked parser refuses
    sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
        .map_err(|_| new_error(ErrorKind::InvalidEddsaKey))
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    let algorithm = *algorithm;
    check_family(algorithm, key.family())?;
    if let Some(hash) = hmac_algorithm(algorithm) {
        let key = hmac::Key::new(hash, key.as_bytes());
        return Ok(Box::new(Hmac { algorithm, key }));
    }
    let der = key.as_bytes();
    let key = match algorithm {
        Algorithm::RS256 => SigningKey::Rsa(rsa_pair(der)?, &sig::RSA_PKCS1_SHA256),
        Algorithm::RS384 => SigningKey::Rsa(rsa_pair(der)?, &sig::RSA_PKCS1_SHA384),
        Algorithm::RS512 => SigningKey::Rsa(rsa_pair(der)?, &sig::RSA_PKCS1_SHA512),
        Algorithm::PS256 => SigningKey::Rsa(rsa_pair(der)?, &sig::RSA_PSS_SHA256),
        Algorithm::PS384 => SigningKey::Rsa(rsa_pair(der)?, &sig::RSA_PSS_SHA384),
        Algorithm::PS512 => SigningKey::Rsa(rsa_pair(der)?, &sig::RSA_PSS_SHA512),
        Algorithm::ES256 | Algorithm::ES384 => SigningKey::Ecdsa(ecdsa_pair(algorithm, der)?),
        Algorithm::EdDSA => SigningKey::Ed25519(ed_pair(der)?),
        _ => return Err(new_error(ErrorKind::UnsupportedAlgorithm)),
    };
    Ok(Box::new(PrivateKey { algorithm, key }))
}

fn rsa_components(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let pair = rsa_pair(der)?;
    let components = sig::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
    Ok((components.n, components.e))
}

fn ec_components(
    pkcs8: &[u8],
    algorithm: Algorithm,
) -> Result<(EllipticCurve, Vec<u8>, Vec<u8>), Error> {
    let (curve, size) = match algorithm {
        Algorithm::ES256 => (EllipticCurve::P256, 32),
        Algorithm::ES384 => (EllipticCurve::P384, 48),
        _ => return Err(new_error(ErrorKind::InvalidEcdsaKey)),
    };
    let pair = ecdsa_pair(algorithm, pkcs8)?;
    let point = pair.public_key().as_ref(); // 0x04 || x || y
    let (x, y) = point[1..].split_at(size);
    Ok((curve, x.to_vec(), y.to_vec()))
}

fn ed_components(pkcs8: &[u8], curve: &EllipticCurve) -> Result<Vec<u8>, Error> {
    if *curve != EllipticCurve::Ed25519 {
        return Err(new_error(ErrorKind::InvalidEddsaKey));
    }
    Ok(ed_pair(pkcs8)?.public_key().as_ref().to_vec())
}

#[allow(clippy::needless_pass_by_value)] // the signature is jsonwebtoken's `KeyUtils::compute_digest`
fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>, Error> {
    let algorithm = match hash {
        ThumbprintHash::SHA256 => &digest::SHA256,
        ThumbprintHash::SHA384 => &digest::SHA384,
        ThumbprintHash::SHA512 => &digest::SHA512,
        _ => return Err(unsupported("thumbprint hash")),
    };
    Ok(digest::digest(algorithm, data).as_ref().to_vec())
}
