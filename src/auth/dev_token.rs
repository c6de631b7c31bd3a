//! Development tokens: HS256 JWTs signed with `SECRET_KEY` (issuer `homechef-dev`), printed by
//! `homechef dev-token` so a newcomer can call mutations from GraphiQL without a Clerk account.
//! The `Authenticator` accepts them only when `APP_ENV=development`.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{AuthError, Identity};

pub const ISSUER: &str = "homechef-dev";
/// Subjects of dev users are prefixed so they can never collide with Clerk's `user_…` ids.
pub const SUBJECT_PREFIX: &str = "dev_";
/// Lifetime of a dev token.
pub const TTL_SECS: u64 = 12 * 3600;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    iat: u64,
    nbf: u64,
    exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

impl super::Subject for Claims {
    fn subject(self) -> String {
        self.sub
    }
}

/// Signs a token for the dev user `name`.
pub fn issue(secret: &SecretString, name: &str, email: Option<&str>) -> anyhow::Result<String> {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = Claims {
        sub: format!("{SUBJECT_PREFIX}{name}"),
        iss: ISSUER.into(),
        iat: now,
        nbf: now,
        exp: now + TTL_SECS,
        email: email.map(str::to_owned),
        name: Some(name.to_owned()),
    };
    let key = EncodingKey::from_secret(secret.expose_secret().as_bytes());
    Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)?)
}

/// Verifies signature, expiry, not-before and issuer (5 s leeway).
pub fn verify(secret: &SecretString, token: &str) -> Result<Identity, AuthError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 5;
    validation.validate_nbf = true;
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "sub"]);
    let key = DecodingKey::from_secret(secret.expose_secret().as_bytes());
    let claims: Claims = super::decode(token, &key, &validation, |e| format!("dev token: {e}"))?;
    if !claims.sub.starts_with(SUBJECT_PREFIX) {
        return Err(AuthError::InvalidToken("dev token subject without prefix".into()));
    }
    Ok(Identity {
        subject: claims.sub,
        email: claims.email,
        name: claims.name,
    })
}

/// Validates a dev user name given on the command line.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn issued_tokens_verify_with_the_same_key_only() {
        let key = secret("k".repeat(40).as_str());
        let token = issue(&key, "alice", Some("alice@example.com")).unwrap_or_default();
        let identity = verify(&key, &token).ok();
        assert_eq!(identity.as_ref().map(|i| i.subject.as_str()), Some("dev_alice"));
        assert_eq!(identity.and_then(|i| i.email).as_deref(), Some("alice@example.com"));
        assert!(verify(&secret("x".repeat(40).as_str()), &token).is_err());
    }

    #[test]
    fn names_are_restricted() {
        assert!(valid_name("alice_1"));
        assert!(!valid_name(""));
        assert!(!valid_name("a b"));
        assert!(!valid_name(&"a".repeat(65)));
    }
}
