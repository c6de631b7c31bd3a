//! Svix webhook signatures, as Clerk sends them: `svix-id`, `svix-timestamp` (unix seconds, within
//! `TOLERANCE_SECS` of now) and `svix-signature` (space-separated `v1,<base64 HMAC-SHA256>` entries) over
//! `id.timestamp.body`, keyed with the base64 secret after `whsec_`. Compared in constant time.

use anyhow::Context as _;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SvixError {
    #[error("missing or malformed svix headers")]
    MalformedHeaders,
    #[error("timestamp outside the tolerance window")]
    StaleTimestamp,
    #[error("no signature matches")]
    BadSignature,
}

pub struct SvixVerifier {
    key: Vec<u8>,
}

impl SvixVerifier {
    pub fn new(secret: &str) -> anyhow::Result<Self> {
        let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
        let key = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .context("CLERK_WEBHOOK_SECRET is not a whsec_<base64> secret")?;
        anyhow::ensure!(key.len() >= 16, "CLERK_WEBHOOK_SECRET is too short");
        Ok(Self { key })
    }

    /// Checks one delivery at time `now` (unix seconds).
    pub fn verify(&self, id: &str, timestamp: &str, signatures: &str, body: &[u8], now: i64) -> Result<(), SvixError> {
        if id.is_empty() || id.len() > 255 {
            return Err(SvixError::MalformedHeaders);
        }
        let sent: i64 = timestamp.trim().parse().map_err(|_| SvixError::MalformedHeaders)?;
        if (now - sent).abs() > TOLERANCE_SECS {
            return Err(SvixError::StaleTimestamp);
        }
        let mut valid = false;
        for candidate in signatures.split_whitespace().filter_map(|s| s.strip_prefix("v1,")) {
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(candidate) else {
                continue;
            };
            let mut mac = self.mac();
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.trim().as_bytes());
            mac.update(b".");
            mac.update(body);
            valid |= mac.verify_slice(&bytes).is_ok();
        }
        if valid {
            Ok(())
        } else {
            Err(SvixError::BadSignature)
        }
    }

    /// The `v1,<base64>` signature for a delivery (tests and tooling sign with it).
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        )
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length; this cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn matches_the_svix_reference_vector() {
        // From Svix's documentation: id msg_p5jXN8AQM9LWM0D4loKWxJek, timestamp 1614265330.
        let verifier = SvixVerifier::new(SECRET).unwrap_or_else(|e| panic!("{e}"));
        let body = br#"{"test": 2432232314}"#;
        let signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert_eq!(
            verifier.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            signature
        );
        let ok = verifier.verify(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "1614265330",
            &format!("v1,bogus {signature}"),
            body,
            1614265330 + 10,
        );
        assert_eq!(ok, Ok(()));
    }

    #[test]
    fn stale_tampered_and_malformed_deliveries_fail() {
        let verifier = SvixVerifier::new(SECRET).unwrap_or_else(|e| panic!("{e}"));
        let sig = verifier.sign("msg_1", 1000, b"{}");
        assert_eq!(
            verifier.verify("msg_1", "1000", &sig, b"{}", 1000 + 301),
            Err(SvixError::StaleTimestamp)
        );
        assert_eq!(
            verifier.verify("msg_1", "1000", &sig, b"{ }", 1000),
            Err(SvixError::BadSignature)
        );
        assert_eq!(
            verifier.verify("msg_2", "1000", &sig, b"{}", 1000),
            Err(SvixError::BadSignature)
        );
        assert_eq!(
            verifier.verify("msg_1", "soon", &sig, b"{}", 1000),
            Err(SvixError::MalformedHeaders)
        );
        assert_eq!(
            verifier.verify("msg_1", "1000", "v2,abc", b"{}", 1000),
            Err(SvixError::BadSignature)
        );
    }
}
