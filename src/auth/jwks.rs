//! Clerk's signing keys fetched from a JWKS endpoint, cached. An unknown `kid` triggers at most one
//! refetch per `REFRESH_COOLDOWN`, so forged `kid`s cannot make us hammer Clerk; the cache is reloaded after
//! `TTL`, and stale keys keep working while the endpoint is down. Redirects are not followed and the
//! token's own `jku`/`x5u`/`jwk` headers are never looked at.

use std::collections::HashMap;
use std::io::Read as _;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::DecodingKey;
use tokio::sync::{Mutex, RwLock};

use super::AuthError;

pub const TTL: Duration = Duration::from_secs(3600);
pub const REFRESH_COOLDOWN: Duration = Duration::from_secs(300);
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_JWKS_BYTES: u64 = 256 * 1024;

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, DecodingKey>,
    loaded_at: Option<Instant>,
    /// Last refetch caused by an unknown `kid` (the initial and TTL loads do not count).
    last_unknown_refresh: Option<Instant>,
}

pub struct JwksCache {
    url: String,
    keys: RwLock<Keys>,
    /// One fetch at a time: a burst of tokens with a new `kid` causes one request to Clerk.
    fetching: Mutex<()>,
}

impl JwksCache {
    pub fn new(url: String) -> Self {
        Self {
            url,
            keys: RwLock::new(Keys::default()),
            fetching: Mutex::new(()),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The key for `kid`, loading or refreshing the set as the rules above allow.
    pub async fn key(&self, kid: &str) -> Result<DecodingKey, AuthError> {
        if let Some(key) = self.cached(kid, true).await {
            return Ok(key);
        }
        let _one_fetch = self.fetching.lock().await;
        // Another task may have refreshed while we waited.
        if let Some(key) = self.cached(kid, true).await {
            return Ok(key);
        }
        let (expired, cooldown_over) = {
            let keys = self.keys.read().await;
            let expired = keys.loaded_at.is_none_or(|t| t.elapsed() >= TTL);
            let cooldown_over = keys
                .last_unknown_refresh
                .is_none_or(|t| t.elapsed() >= REFRESH_COOLDOWN);
            (expired, cooldown_over)
        };
        if !expired && !cooldown_over {
            return Err(AuthError::InvalidToken(format!(
                "unknown kid {kid:?} (refresh on cooldown)"
            )));
        }
        match self.fetch().await {
            Ok(fresh) => {
                let mut keys = self.keys.write().await;
                keys.by_kid = fresh;
                keys.loaded_at = Some(Instant::now());
                if !expired {
                    keys.last_unknown_refresh = Some(Instant::now());
                }
            }
            Err(reason) => {
                tracing::warn!(url = %self.url, %reason, "JWKS fetch failed");
                if !expired {
                    self.keys.write().await.last_unknown_refresh = Some(Instant::now());
                }
                // A stale key is better than locking everyone out while Clerk is unreachable.
                return self.cached(kid, false).await.ok_or(AuthError::KeysUnavailable(reason));
            }
        }
        self.cached(kid, false)
            .await
            .ok_or_else(|| AuthError::InvalidToken(format!("unknown kid {kid:?}")))
    }

    async fn cached(&self, kid: &str, fresh_only: bool) -> Option<DecodingKey> {
        let keys = self.keys.read().await;
        let fresh = keys.loaded_at.is_some_and(|t| t.elapsed() < TTL);
        (fresh || !fresh_only).then(|| keys.by_kid.get(kid).cloned())?
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, String> {
        let url = self.url.clone();
        let body = tokio::task::spawn_blocking(move || fetch_blocking(&url))
            .await
            .map_err(|e| format!("fetch task failed: {e}"))??;
        parse_jwks(&body)
    }
}

fn fetch_blocking(url: &str) -> Result<String, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(FETCH_TIMEOUT))
        .max_redirects(0)
        .build()
        .into();
    let response = agent.get(url).call().map_err(|e| e.to_string())?;
    let mut body = String::new();
    response
        .into_body()
        .into_reader()
        .take(MAX_JWKS_BYTES)
        .read_to_string(&mut body)
        .map_err(|e| e.to_string())?;
    Ok(body)
}

/// RSA signing keys with a `kid`, usable for RS256; everything else in the set is ignored.
pub fn parse_jwks(body: &str) -> Result<HashMap<String, DecodingKey>, String> {
    let set: JwkSet = serde_json::from_str(body).map_err(|e| format!("malformed JWKS: {e}"))?;
    let keys: HashMap<String, DecodingKey> = set
        .keys
        .iter()
        .filter(|jwk| matches!(jwk.algorithm, AlgorithmParameters::RSA(_)))
        .filter(|jwk| jwk.common.key_algorithm.is_none_or(|alg| alg == KeyAlgorithm::RS256))
        .filter(|jwk| {
            jwk.common
                .public_key_use
                .as_ref()
                .is_none_or(|u| *u == PublicKeyUse::Signature)
        })
        .filter_map(|jwk| Some((jwk.common.key_id.clone()?, DecodingKey::from_jwk(jwk).ok()?)))
        .collect();
    if keys.is_empty() {
        return Err("JWKS holds no usable RS256 key".into());
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_rsa_and_kidless_keys_are_ignored() {
        let body = r#"{"keys":[
            {"kty":"EC","kid":"ec","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty":"RSA","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}
        ]}"#;
        assert!(parse_jwks(body).is_err());
        assert!(parse_jwks("not json").is_err());
    }
}
