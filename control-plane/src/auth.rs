//! JWT bearer tokens: HS256 only (the algorithm is pinned, `none` never
//! accepted), `exp` required. Scopes are ordered: `admin` ⊇ `write` ⊇ `read`.

use std::io::Read;
use std::path::Path;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Write,
    Admin,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub scopes: Vec<Scope>,
    pub iat: i64,
    pub exp: i64,
}

impl Claims {
    pub fn allows(&self, needed: Scope) -> bool {
        self.scopes.iter().any(|s| *s >= needed)
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not a valid HS256 JWT signed by this control plane")]
    Invalid,
}

pub struct Authenticator {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl Authenticator {
    pub fn new(secret: &[u8]) -> Authenticator {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp"]);
        // `exp` is exact: a token is refused from its expiry second on.
        validation.leeway = 0;
        Authenticator {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn mint(&self, subject: &str, scopes: Vec<Scope>, now_secs: i64, ttl_secs: i64) -> Result<String, AuthError> {
        let claims = Claims { sub: subject.to_owned(), scopes, iat: now_secs, exp: now_secs + ttl_secs };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|_| AuthError::Invalid)
    }

    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation) {
            Ok(data) => Ok(data.claims),
            Err(e) if *e.kind() == ErrorKind::ExpiredSignature => Err(AuthError::Expired),
            Err(_) => Err(AuthError::Invalid),
        }
    }
}

/// `n` random bytes, hex-encoded, from the kernel.
pub fn random_hex(n: usize) -> std::io::Result<String> {
    let mut bytes = vec![0u8; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes `contents` to a new file only its owner can read.
pub fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let auth = Authenticator::new(b"0123456789abcdef0123456789abcdef");
        let now = crate::clock::now_millis() / 1000;
        let token = auth.mint("ci", vec![Scope::Write], now, 60).expect("mint");
        let claims = auth.verify(&token).expect("valid");
        assert!(claims.allows(Scope::Read) && claims.allows(Scope::Write) && !claims.allows(Scope::Admin));

        let expired = auth.mint("ci", vec![Scope::Read], now - 3600, 60).expect("mint");
        assert_eq!(auth.verify(&expired).unwrap_err(), AuthError::Expired);
        // No leeway: a token is refused from its `exp` on.
        let just_expired = auth.mint("ci", vec![Scope::Read], now - 61, 60).expect("mint");
        assert_eq!(auth.verify(&just_expired).unwrap_err(), AuthError::Expired);

        let other = Authenticator::new(b"another secret, another signature");
        assert_eq!(other.verify(&token).unwrap_err(), AuthError::Invalid);
        assert_eq!(auth.verify("not.a.jwt").unwrap_err(), AuthError::Invalid);
    }
}
