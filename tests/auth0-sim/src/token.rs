//! Access tokens: HS256 JWTs signed with the tenant's simulator secret.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use serde::{Deserialize, Serialize};

/// Claims of a Management API token.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    /// Issuer: `https://{tenant_domain}/`.
    pub iss: String,
    /// `{client_id}@clients`.
    pub sub: String,
    /// Audience the token was issued for.
    pub aud: String,
    /// Issued at (UNIX seconds).
    pub iat: i64,
    /// Expiry (UNIX seconds).
    pub exp: i64,
    /// Space-separated scopes.
    pub scope: String,
    /// Grant type.
    pub gty: String,
    /// Client id.
    pub azp: String,
    /// Simulator token generation (all older generations were expired by control).
    pub sim_gen: u64,
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Bad format or signature.
    #[error("Invalid token")]
    Invalid,
    /// Past `exp` or expired by control.
    #[error("Expired token")]
    Expired,
}

/// Signs and checks tokens.
#[derive(Clone)]
pub struct Signer {
    key: hmac::Key,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer([redacted])")
    }
}

impl Signer {
    /// A signer over raw secret bytes.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    /// Encodes and signs.
    pub fn sign(&self, claims: &Claims) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT","kid":"auth0-sim"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let input = format!("{header}.{payload}");
        let sig = URL_SAFE_NO_PAD.encode(hmac::sign(&self.key, input.as_bytes()).as_ref());
        format!("{input}.{sig}")
    }

    /// Checks signature, expiry and generation.
    pub fn verify(&self, token: &str, now: i64, generation: u64) -> Result<Claims, TokenError> {
        let (input, sig) = token.rsplit_once('.').ok_or(TokenError::Invalid)?;
        let (_, payload) = input.split_once('.').ok_or(TokenError::Invalid)?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| TokenError::Invalid)?;
        hmac::verify(&self.key, input.as_bytes(), &sig).map_err(|_| TokenError::Invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Invalid)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Invalid)?;
        if claims.exp <= now || claims.sim_gen < generation {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: "https://t/".into(),
            sub: "c@clients".into(),
            aud: "https://t/api/v2/".into(),
            iat: 0,
            exp,
            scope: "read:custom_domains".into(),
            gty: "client-credentials".into(),
            azp: "c".into(),
            sim_gen: 1,
        }
    }

    #[test]
    fn round_trip_and_failures() {
        let s = Signer::new(b"secret");
        let t = s.sign(&claims(100));
        assert_eq!(s.verify(&t, 50, 1).unwrap().scope, "read:custom_domains");
        assert_eq!(s.verify(&t, 100, 1), Err(TokenError::Expired));
        assert_eq!(s.verify(&t, 50, 2), Err(TokenError::Expired));
        assert_eq!(Signer::new(b"other").verify(&t, 50, 1), Err(TokenError::Invalid));
        assert_eq!(s.verify("garbage", 50, 1), Err(TokenError::Invalid));
    }
}
