//! Why a token was refused, in the words of the 401.

use jsonwebtoken::errors::ErrorKind;

/// Why a token was refused: the `error_description` and the problem's `detail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// No token in the header or the cookie.
    Missing,
    Malformed,
    TooLong,
    Algorithm,
    UnknownKey,
    NoKeyId,
    Signature,
    MissingExpiry,
    Expired,
    NotYetValid,
    MissingIssuer,
    Issuer,
    MissingAudience,
    Audience,
    ClaimType,
}

impl Rejection {
    pub(crate) fn description(self) -> &'static str {
        match self {
            Self::Missing => "no bearer token was sent",
            Self::Malformed => "the token is malformed (expected header.payload.signature in base64url)",
            Self::TooLong => "the token is too long",
            Self::Algorithm => "the token is not signed with the algorithm this server accepts",
            Self::UnknownKey => "the token's key id (kid) is not one of this server's keys",
            Self::NoKeyId => "the token has no key id (kid) and this server has several keys",
            Self::Signature => "the token's signature is invalid",
            Self::MissingExpiry => "the token has no expiry time (exp)",
            Self::Expired => "the token has expired",
            Self::NotYetValid => "the token is not valid yet (nbf)",
            Self::MissingIssuer => "the token has no issuer (iss)",
            Self::Issuer => "the token's issuer (iss) is not accepted",
            Self::MissingAudience => "the token has no audience (aud)",
            Self::Audience => "the token's audience (aud) is not accepted",
            Self::ClaimType => "a registered claim of the token has the wrong type (exp and nbf are numbers, iss and sub strings)",
        }
    }

    pub(crate) fn from_error(kind: &ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidSignature => Self::Signature,
            ErrorKind::InvalidAlgorithm => Self::Algorithm,
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            ErrorKind::InvalidIssuer => Self::Issuer,
            ErrorKind::InvalidAudience => Self::Audience,
            ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
                "exp" => Self::MissingExpiry,
                "iss" => Self::MissingIssuer,
                "aud" => Self::MissingAudience,
                _ => Self::ClaimType,
            },
            ErrorKind::InvalidClaimFormat(_) | ErrorKind::InvalidSubject => Self::ClaimType,
            ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidEddsaKey
            | ErrorKind::InvalidRsaKey(_)
            | ErrorKind::InvalidKeyFormat
            | ErrorKind::Provider(_) => Self::Signature,
            _ => Self::Malformed,
        }
    }
}
