//! Signing with the app's secret and random tokens, for the session and CSRF layers.
//!
//! HMAC-SHA256 and the OS random number generator come from ring, which the
//! authentication layer and rustls already build: no second crypto stack for two
//! primitives. Each signature covers a label (`cello-session`, `cello-csrf`) before the
//! data, so a value signed for one layer never verifies for the other even when both are
//! given the same secret.

use std::fmt;

use data_encoding::BASE64URL_NOPAD;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;

use crate::error::ConfigError;

/// The shortest secret accepted, in bytes: 256 bits, HMAC-SHA256's own key size.
pub(crate) const MIN_SECRET_LEN: usize = 32;

/// A key that signs and checks values.
pub(crate) struct SigningKey {
    key: hmac::Key,
}

impl SigningKey {
    /// The key of `secret`; `what` names the option in the message when it is too short.
    pub(crate) fn new(what: &'static str, secret: &[u8]) -> Result<Self, ConfigError> {
        if secret.len() < MIN_SECRET_LEN {
            let given = if secret.is_empty() {
                "none was given".to_owned()
            } else {
                format!("this one has {}", secret.len())
            };
            return Err(ConfigError::invalid(format!(
                "{what} secret must be at least {MIN_SECRET_LEN} bytes ({given}): it signs \
                 the cookies, and a short one can be guessed. Make one with \
                 python -c \"import secrets; print(secrets.token_urlsafe(48))\" and read it \
                 from the environment; every worker and every restart must use the same one"
            )));
        }
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        })
    }

    /// The signature of `data` under `label`, in base64url (43 characters).
    pub(crate) fn sign(&self, label: &str, data: &[u8]) -> String {
        BASE64URL_NOPAD.encode(self.tag(label, data).as_ref())
    }

    /// Whether `signature` (base64url) is the signature of `data` under `label`; the
    /// comparison takes the same time wherever the first wrong byte is.
    pub(crate) fn verify(&self, label: &str, data: &[u8], signature: &str) -> bool {
        let Ok(signature) = BASE64URL_NOPAD.decode(signature.as_bytes()) else {
            return false;
        };
        bool::from(self.tag(label, data).as_ref().ct_eq(&signature))
    }

    fn tag(&self, label: &str, data: &[u8]) -> hmac::Tag {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(label.as_bytes());
        context.update(&[0]);
        context.update(data);
        context.sign()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(HMAC-SHA256, redacted)")
    }
}

/// `N` bytes from the operating system's random number generator (`getrandom(2)` on
/// Linux), the only source fit for session ids and CSRF tokens.
pub(crate) fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    // The kernel's generator does not fail once the system has booted; if it ever did,
    // a predictable id would be worse than the 500 this panic becomes.
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the operating system's random number generator failed");
    bytes
}

/// `N` random bytes in base64url.
pub(crate) fn random_token<const N: usize>() -> String {
    BASE64URL_NOPAD.encode(&random::<N>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_bound_to_key_label_and_data() {
        let key = SigningKey::new("test", &[7; 32]).unwrap();
        let other = SigningKey::new("test", &[8; 32]).unwrap();
        let signature = key.sign("a", b"value");
        assert_eq!(signature.len(), 43);
        assert!(key.verify("a", b"value", &signature));
        assert!(!key.verify("b", b"value", &signature));
        assert!(!key.verify("a", b"valuf", &signature));
        assert!(!other.verify("a", b"value", &signature));
        assert!(!key.verify("a", b"value", "not base64!"));
        assert!(!key.verify("a", b"value", &signature[..42]));
    }

    #[test]
    fn short_secrets_are_refused_with_a_recipe() {
        let error = SigningKey::new("session", b"short")
            .unwrap_err()
            .to_string();
        assert!(error.contains("at least 32 bytes"), "{error}");
        assert!(error.contains("secrets.token_urlsafe(48)"), "{error}");
    }

    #[test]
    fn random_tokens_differ() {
        assert_ne!(random_token::<32>(), random_token::<32>());
        assert_eq!(random_token::<32>().len(), 43);
    }
}
