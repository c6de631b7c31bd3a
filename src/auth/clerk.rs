//! Clerk session tokens: RS256 only, `kid` from Clerk's JWKS (or one networkless PEM key), and explicit
//! claim checks. jsonwebtoken's defaults are loose (60 s leeway, no issuer or `azp` check), so every
//! setting is spelled out here.

use anyhow::{bail, Context as _};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::jwks::JwksCache;
use super::{AuthError, Identity};
use crate::config::ClerkConfig;

/// Clock skew we tolerate on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: u64 = 5;

enum KeySource {
    /// `CLERK_JWT_KEY`: Clerk's PEM public key, no network needed.
    Pem(DecodingKey),
    Jwks(JwksCache),
}

pub struct ClerkVerifier {
    issuer: String,
    authorized_parties: Vec<String>,
    audience: Option<String>,
    keys: KeySource,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    /// Only looked at for presence when no audience is configured (decoding checks it otherwise).
    aud: Option<serde_json::Value>,
    iat: u64,
    azp: Option<String>,
    email: Option<String>,
    name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    username: Option<String>,
}

impl super::Subject for Claims {
    fn subject(self) -> String {
        self.sub
    }
}

impl ClerkVerifier {
    /// `None` when Clerk is not configured at all (only dev tokens, if any, then work).
    pub fn from_config(config: &ClerkConfig) -> anyhow::Result<Option<Self>> {
        let frontend_api = config.publishable_key.as_deref().map(frontend_api_host).transpose()?;
        let keys = if let Some(pem) = config.jwt_key.as_deref().filter(|k| !k.trim().is_empty()) {
            let pem = pem.replace("\\n", "\n");
            KeySource::Pem(
                DecodingKey::from_rsa_pem(pem.as_bytes())
                    .context("CLERK_JWT_KEY is not an RSA public key in PEM form")?,
            )
        } else if let Some(url) = config.jwks_url.clone() {
            KeySource::Jwks(JwksCache::new(url))
        } else if let Some(host) = &frontend_api {
            KeySource::Jwks(JwksCache::new(format!("https://{host}/.well-known/jwks.json")))
        } else {
            return Ok(None);
        };
        let issuer = match (&config.issuer, &frontend_api) {
            (Some(issuer), _) => issuer.clone(),
            (None, Some(host)) => format!("https://{host}"),
            (None, None) => bail!("CLERK_ISSUER is required when CLERK_JWT_KEY or CLERK_JWKS_URL is set"),
        };
        if config.authorized_parties.is_empty() {
            bail!("CLERK_AUTHORIZED_PARTIES (or ALLOWED_ORIGINS) must list the frontend origins tokens are issued for");
        }
        Ok(Some(Self {
            issuer,
            authorized_parties: config.authorized_parties.clone(),
            audience: config.audience.clone(),
            keys,
        }))
    }

    pub async fn verify(&self, token: &str, header: &jsonwebtoken::Header) -> Result<Identity, AuthError> {
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::InvalidToken(format!(
                "algorithm {:?} not accepted",
                header.alg
            )));
        }
        // Clerk always sends a `kid`; a token without one was not minted by Clerk, PEM mode included.
        let kid = header
            .kid
            .as_deref()
            .ok_or_else(|| AuthError::InvalidToken("no kid".into()))?;
        // `typ` is optional, but when present it must say JWT: `at+jwt` and friends were minted for others.
        if header
            .typ
            .as_deref()
            .is_some_and(|typ| !typ.eq_ignore_ascii_case("JWT"))
        {
            return Err(AuthError::InvalidToken("typ is not JWT".into()));
        }
        let key = match &self.keys {
            KeySource::Pem(key) => key.clone(),
            KeySource::Jwks(cache) => cache.key(kid).await?,
        };
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        match &self.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                validation.set_required_spec_claims(&["exp", "nbf", "iss", "sub", "aud"]);
            }
            None => {
                validation.validate_aud = false;
                validation.set_required_spec_claims(&["exp", "nbf", "iss", "sub"]);
            }
        }
        let claims: Claims = super::decode(token, &key, &validation, |e| format!("{:?}", e.kind()))?;
        if self.audience.is_none() && claims.aud.is_some() {
            return Err(AuthError::InvalidToken("aud present but no audience configured".into()));
        }
        if claims.iat > jsonwebtoken::get_current_timestamp() + LEEWAY_SECS {
            return Err(AuthError::InvalidToken("iat in the future".into()));
        }
        match claims.azp.as_deref() {
            None => return Err(AuthError::InvalidToken("no azp".into())),
            Some(azp) if !self.authorized_parties.iter().any(|p| p == azp) => {
                return Err(AuthError::InvalidToken("azp not authorized".into()))
            }
            Some(_) => {}
        }
        if claims.sub.is_empty() || claims.sub.len() > 255 {
            return Err(AuthError::InvalidToken("bad sub".into()));
        }
        let name = claims.name.or_else(|| {
            let full = [claims.first_name, claims.last_name]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!full.trim().is_empty()).then(|| full.trim().to_owned())
        });
        Ok(Identity {
            subject: claims.sub,
            email: claims.email,
            name: name.or(claims.username),
        })
    }
}

/// `pk_test_<base64("clerk.example.com$")>` → `clerk.example.com`.
pub fn frontend_api_host(publishable_key: &str) -> anyhow::Result<String> {
    let encoded = publishable_key
        .strip_prefix("pk_test_")
        .or_else(|| publishable_key.strip_prefix("pk_live_"))
        .context("CLERK_PUBLISHABLE_KEY must start with pk_test_ or pk_live_")?;
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .context("CLERK_PUBLISHABLE_KEY is not valid base64")?;
    let text = String::from_utf8(bytes).context("CLERK_PUBLISHABLE_KEY is not text")?;
    let host = text.trim_end_matches('$');
    if host.is_empty() || !host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c)) {
        bail!("CLERK_PUBLISHABLE_KEY does not encode a host name");
    }
    Ok(host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishable_keys_decode_to_the_frontend_api_host() {
        let key = format!(
            "pk_test_{}",
            base64::engine::general_purpose::STANDARD.encode("clerk.homechef.example$")
        );
        assert_eq!(frontend_api_host(&key).ok().as_deref(), Some("clerk.homechef.example"));
        assert!(frontend_api_host("sk_test_abc").is_err());
        let evil = format!(
            "pk_live_{}",
            base64::engine::general_purpose::STANDARD.encode("evil.example/path?$")
        );
        assert!(frontend_api_host(&evil).is_err());
    }
}
