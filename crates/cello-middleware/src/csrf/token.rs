//! CSRF tokens: a random secret per browser, signed in its cookie, masked anew each time
//! it is handed to a page.
//!
//! - cookie: `<token>.<signature>`, the token being 32 random bytes in base64url and the
//!   signature their HMAC-SHA256 under the secret (so a cookie planted by someone else,
//!   say a sibling subdomain under a name without `__Host-`, is refused unless this
//!   server issued it);
//! - masked: base64url of `mask ‖ token ⊕ mask` with a fresh random mask (86
//!   characters), what handlers get to put in forms. The bytes differ in every
//!   response, so a compressed page does not leak the token through its length (BREACH).
//!
//! A request may send back either form: the cookie's value as it is (a script that read
//! `document.cookie`) or a masked token.

use data_encoding::BASE64URL_NOPAD;
use subtle::ConstantTimeEq;

use crate::secret::{random, SigningKey};

const LABEL: &str = "cello-csrf";
const TOKEN_BYTES: usize = 32;

pub(crate) type Token = [u8; TOKEN_BYTES];

/// Issues and checks tokens.
#[derive(Debug)]
pub(crate) struct Tokens {
    signer: SigningKey,
}

impl Tokens {
    pub(crate) fn new(signer: SigningKey) -> Self {
        Self { signer }
    }

    /// A new token and its cookie value.
    pub(crate) fn issue(&self) -> (Token, String) {
        let token = random::<TOKEN_BYTES>();
        let encoded = BASE64URL_NOPAD.encode(&token);
        let signature = self.signer.sign(LABEL, encoded.as_bytes());
        (token, format!("{encoded}.{signature}"))
    }

    /// The token of a cookie value this server issued.
    pub(crate) fn verify_cookie(&self, value: &str) -> Option<Token> {
        let (encoded, signature) = value.split_once('.')?;
        if !self.signer.verify(LABEL, encoded.as_bytes(), signature) {
            return None;
        }
        BASE64URL_NOPAD
            .decode(encoded.as_bytes())
            .ok()?
            .try_into()
            .ok()
    }
}

/// `token` masked with a fresh random mask.
pub(crate) fn mask(token: &Token) -> String {
    let mask = random::<TOKEN_BYTES>();
    let mut out = [0; 2 * TOKEN_BYTES];
    out[..TOKEN_BYTES].copy_from_slice(&mask);
    for (i, (t, m)) in token.iter().zip(mask).enumerate() {
        out[TOKEN_BYTES + i] = t ^ m;
    }
    BASE64URL_NOPAD.encode(&out)
}

/// Whether `submitted` (from the header or the form) stands for the cookie's token:
/// the cookie value itself, or the token masked. Compared in constant time.
pub(crate) fn matches(token: &Token, cookie_value: &str, submitted: &str) -> bool {
    if submitted.contains('.') {
        return bool::from(submitted.as_bytes().ct_eq(cookie_value.as_bytes()));
    }
    let Ok(bytes) = BASE64URL_NOPAD.decode(submitted.as_bytes()) else {
        return false;
    };
    if bytes.len() != 2 * TOKEN_BYTES {
        return false;
    }
    let (mask, masked) = bytes.split_at(TOKEN_BYTES);
    let mut unmasked = [0; TOKEN_BYTES];
    for (i, (m, x)) in mask.iter().zip(masked).enumerate() {
        unmasked[i] = m ^ x;
    }
    bool::from(unmasked.ct_eq(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens::new(SigningKey::new("CSRF", &[3; 32]).unwrap())
    }

    #[test]
    fn a_cookie_verifies_only_with_its_signature() {
        let tokens = tokens();
        let (token, cookie) = tokens.issue();
        assert_eq!(tokens.verify_cookie(&cookie), Some(token));
        let (encoded, _) = cookie.split_once('.').unwrap();
        let forged = format!("{encoded}.{}", "A".repeat(43));
        assert_eq!(tokens.verify_cookie(&forged), None);
        assert_eq!(tokens.verify_cookie(encoded), None);
        let other = Tokens::new(SigningKey::new("CSRF", &[4; 32]).unwrap());
        assert_eq!(other.verify_cookie(&cookie), None);
    }

    #[test]
    fn masked_tokens_differ_but_match() {
        let tokens = tokens();
        let (token, cookie) = tokens.issue();
        let (first, second) = (mask(&token), mask(&token));
        assert_ne!(first, second);
        assert_eq!(first.len(), 86);
        assert!(matches(&token, &cookie, &first));
        assert!(matches(&token, &cookie, &second));
        assert!(matches(&token, &cookie, &cookie));
        let (other, other_cookie) = tokens.issue();
        assert!(!matches(&token, &cookie, &mask(&other)));
        assert!(!matches(&token, &cookie, &other_cookie));
        assert!(!matches(&token, &cookie, ""));
        assert!(!matches(&token, &cookie, "not a token"));
    }
}
