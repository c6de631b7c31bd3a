//! Who is calling: bearer-token verification and the `Viewer` every resolver receives.
//! The HTTP edge extracts the header; this module decides, without knowing Rocket.

pub mod clerk;
pub mod dev_token;
pub mod jwks;
pub mod svix;
pub mod viewers;

use secrecy::SecretString;

use crate::config::AppConfig;
use crate::db::DbPool;
use crate::error::AppError;
use crate::users::{NewUser, User};

/// The caller of one request, placed in the GraphQL context.
#[derive(Clone, Debug)]
pub enum Viewer {
    Anonymous,
    User(User),
}

impl Viewer {
    /// The signed-in user, or `UNAUTHENTICATED`.
    pub fn user(&self) -> crate::error::AppResult<&User> {
        match self {
            Self::User(user) => Ok(user),
            Self::Anonymous => Err(AppError::Unauthenticated),
        }
    }
}

/// Claims we take from a verified token to find or create the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub subject: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// Why a presented token was refused. The client always sees the same generic 401; the reason is for
/// the security log only.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("malformed authorization header")]
    MalformedHeader,
    #[error("token rejected: {0}")]
    InvalidToken(String),
    /// Expired, but signed by us or Clerk and otherwise valid: a client that kept a stale token (a tab left
    /// open), counted on its own rather than against everyone behind its address.
    #[error("token rejected: expired")]
    Expired { subject: String },
    /// The key server is unreachable and no cached key fits: not the client's fault (503).
    #[error("signing keys unavailable: {0}")]
    KeysUnavailable(String),
}

/// Claims that name a subject.
trait Subject {
    fn subject(self) -> String;
}

/// Decodes a token under `validation`. An expired one is decoded once more without the expiry check: if its
/// signature and other claims hold it is `Expired` with its subject, else refused like any other;
/// `describe` words the refusal.
fn decode<C: serde::de::DeserializeOwned + Subject>(
    token: &str,
    key: &jsonwebtoken::DecodingKey,
    validation: &jsonwebtoken::Validation,
    describe: impl Fn(&jsonwebtoken::errors::Error) -> String,
) -> Result<C, AuthError> {
    match jsonwebtoken::decode::<C>(token, key, validation) {
        Ok(data) => Ok(data.claims),
        Err(e) if *e.kind() == jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
            let mut ignoring_expiry = validation.clone();
            ignoring_expiry.validate_exp = false;
            match jsonwebtoken::decode::<C>(token, key, &ignoring_expiry) {
                Ok(data) => Err(AuthError::Expired {
                    subject: data.claims.subject(),
                }),
                Err(e) => Err(AuthError::InvalidToken(describe(&e))),
            }
        }
        Err(e) => Err(AuthError::InvalidToken(describe(&e))),
    }
}

/// Verifies bearer tokens. Holds the keys; built once at start.
pub struct Authenticator {
    dev_secret: Option<SecretString>,
    clerk: Option<clerk::ClerkVerifier>,
    viewers: std::sync::Arc<viewers::ViewerCache>,
}

impl Authenticator {
    pub fn new(config: &AppConfig) -> anyhow::Result<Self> {
        Ok(Self {
            dev_secret: config.dev_tokens_enabled().then(|| config.secret_key.clone()),
            clerk: clerk::ClerkVerifier::from_config(&config.clerk)?,
            viewers: std::sync::Arc::default(),
        })
    }

    /// The users behind recent tokens; whoever changes or deletes a user makes it forget them.
    pub fn viewers(&self) -> std::sync::Arc<viewers::ViewerCache> {
        std::sync::Arc::clone(&self.viewers)
    }

    /// Checks a token and returns the identity it proves. The algorithm picks the verifier, and each
    /// verifier accepts exactly one algorithm: HS256 only for dev tokens in development, RS256 for Clerk.
    pub async fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        use jsonwebtoken::Algorithm::{HS256, RS256};
        let header = jsonwebtoken::decode_header(token).map_err(|e| AuthError::InvalidToken(format!("header: {e}")))?;
        match (header.alg, &self.dev_secret, &self.clerk) {
            (HS256, Some(secret), _) => dev_token::verify(secret, token),
            (HS256, None, _) => Err(AuthError::InvalidToken("dev tokens are disabled".into())),
            (RS256, _, Some(clerk)) => clerk.verify(token, &header).await,
            (RS256, _, None) => Err(AuthError::InvalidToken("Clerk is not configured".into())),
            (alg, _, _) => Err(AuthError::InvalidToken(format!("algorithm {alg:?} not accepted"))),
        }
    }

    /// Parses an `Authorization` header value, verifies the token and loads (or creates) its user.
    /// A database connection is taken only when there is a token whose user was not looked up lately.
    pub async fn viewer(&self, authorization: Option<&str>, pool: &DbPool) -> Result<Viewer, ViewerError> {
        let Some(value) = authorization else {
            return Ok(Viewer::Anonymous);
        };
        let token = bearer_token(value).ok_or(AuthError::MalformedHeader)?;
        let identity = self.verify(token).await?;
        if let Some(user) = self.viewers.get(&identity.subject) {
            return Ok(Viewer::User(user));
        }
        let mut conn = pool.get().await.map_err(AppError::from)?;
        let user = User::find_or_create(&mut conn, NewUser::from_identity(&identity))
            .await
            .map_err(AppError::from)?;
        self.viewers.put(&user);
        Ok(Viewer::User(user))
    }
}

/// Resolving a viewer failed: a bad token (401) or a dependency (503/500).
#[derive(Debug, thiserror::Error)]
pub enum ViewerError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    App(#[from] AppError),
}

/// When a token that `Authenticator::verify` accepted expires (its `exp`, seconds since the epoch). Read
/// without checking: call it only on a verified token.
pub fn expires_at(token: &str) -> Option<u64> {
    use base64::Engine as _;
    let claims = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims).ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes).ok()?["exp"].as_u64()
}

/// `Bearer <token>`, scheme case-insensitive, token non-empty and free of spaces.
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' ')).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer_token("Bearer abc.def.ghi"), Some("abc.def.ghi"));
        assert_eq!(bearer_token("bearer  abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer a b"), None);
    }
}
