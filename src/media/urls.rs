//! Media URLs. Images of `PUBLIC` recipes have plain, permanent URLs; every other image is reachable only
//! through a URL signed with a key derived from `SECRET_KEY` that expires. Expiry is rounded to the hour so
//! that the same image keeps the same URL for an hour (browsers and the PWA cache can reuse it).

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// A signed URL stays valid at least this long, at most twice as long.
pub const SIGNED_URL_LIFETIME_SECS: i64 = 3600;

pub struct UrlSigner {
    key: Vec<u8>,
    /// `PUBLIC_BASE_URL` without its trailing slash, or empty: URLs relative to the API's origin.
    base: String,
}

/// Why a request for a non-public image was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    Invalid,
    Expired,
}

impl UrlSigner {
    pub fn new(secret: &SecretString, public_base_url: Option<&str>) -> Self {
        // A key of its own, so a media signature can never be replayed as anything else signed with SECRET_KEY.
        let key = mac(secret.expose_secret().as_bytes(), b"homechef media url v1");
        let base = public_base_url.unwrap_or_default().trim_end_matches('/').to_owned();
        Self { key, base }
    }

    /// The URL of one variant, signed unless the image is public.
    pub fn url(&self, id: Uuid, variant: &str, public: bool, now: i64) -> String {
        let base = &self.base;
        if public {
            return format!("{base}/media/{id}/{variant}");
        }
        let expires = (now / SIGNED_URL_LIFETIME_SECS + 2) * SIGNED_URL_LIFETIME_SECS;
        format!(
            "{base}/media/{id}/{variant}?expires={expires}&sig={}",
            self.signature(id, variant, expires)
        )
    }

    /// Checks a signed request; the seconds it stays valid on success.
    pub fn verify(
        &self,
        id: Uuid,
        variant: &str,
        expires: Option<i64>,
        sig: Option<&str>,
        now: i64,
    ) -> Result<i64, SignatureError> {
        let (Some(expires), Some(sig)) = (expires, sig) else {
            return Err(SignatureError::Missing);
        };
        // Constant-time comparison through the MAC itself.
        let given = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| SignatureError::Invalid)?;
        let mut check = HmacSha256::new_from_slice(&self.key).map_err(|_| SignatureError::Invalid)?;
        check.update(message(id, variant, expires).as_bytes());
        check.verify_slice(&given).map_err(|_| SignatureError::Invalid)?;
        if expires <= now {
            return Err(SignatureError::Expired);
        }
        Ok(expires - now)
    }

    fn signature(&self, id: Uuid, variant: &str, expires: i64) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(mac(&self.key, message(id, variant, expires).as_bytes()))
    }
}

fn message(id: Uuid, variant: &str, expires: i64) -> String {
    format!("{id}/{variant}/{expires}")
}

fn mac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(url: &str, name: &str) -> Option<String> {
        url.split(['?', '&'])
            .find_map(|p| p.strip_prefix(&format!("{name}=")).map(str::to_owned))
    }

    #[test]
    fn signed_urls_verify_expire_and_bind_to_their_image() {
        let signer = UrlSigner::new(&SecretString::from("k".repeat(40)), None);
        let id = Uuid::new_v4();
        let now = 1_800_000_000;
        assert_eq!(signer.url(id, "300", true, now), format!("/media/{id}/300"));
        let url = signer.url(id, "300", false, now);
        let expires = query(&url, "expires").and_then(|e| e.parse().ok());
        let sig = query(&url, "sig");
        let valid = signer.verify(id, "300", expires, sig.as_deref(), now);
        assert!(valid.is_ok_and(|secs| secs >= SIGNED_URL_LIFETIME_SECS));
        assert_eq!(
            signer.verify(id, "600", expires, sig.as_deref(), now),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            signer.verify(Uuid::new_v4(), "300", expires, sig.as_deref(), now),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            signer.verify(id, "300", expires.map(|e| e + 1), sig.as_deref(), now),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            signer.verify(id, "300", expires, sig.as_deref(), now + 3 * SIGNED_URL_LIFETIME_SECS),
            Err(SignatureError::Expired)
        );
        assert_eq!(signer.verify(id, "300", None, None, now), Err(SignatureError::Missing));
        let other = UrlSigner::new(&SecretString::from("j".repeat(40)), None);
        assert_eq!(
            other.verify(id, "300", expires, sig.as_deref(), now),
            Err(SignatureError::Invalid)
        );
    }
}
