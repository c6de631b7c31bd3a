//! Rate limits per client address. Route classes use rocket-governor guards; classes decided after the
//! body is read (writes, authentication failures) use governor directly. rocket-governor's defaults are
//! patched on purpose: its `Retry-After` can be 0 (we send at least 1), and it refuses requests without a
//! client address (local test clients) with a 400, which we let through instead.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rocket::http::Method;
use rocket_governor::{LimitError, RocketGovernable, RocketGovernor};
use serde_json::json;

use super::response::JsonResponse;
use crate::error::AppError;
use crate::security_log::{RequestMeta, SecurityLog, Severity};

fn per_minute(n: u32, burst: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
}

/// `/graphql`: 60 requests a minute per address, bursts of 20.
pub struct GraphqlQuota;

impl<'r> RocketGovernable<'r> for GraphqlQuota {
    fn quota(_: Method, _: &str) -> Quota {
        per_minute(60, 20)
    }
}

/// `/webhooks/clerk`: 10 a minute per address.
pub struct WebhookQuota;

impl<'r> RocketGovernable<'r> for WebhookQuota {
    fn quota(_: Method, _: &str) -> Quota {
        per_minute(10, 10)
    }
}

/// `/media/…`: 600 requests a minute per address, bursts of 200 (a grid of photos loads many at once).
pub struct MediaQuota;

impl<'r> RocketGovernable<'r> for MediaQuota {
    fn quota(_: Method, _: &str) -> Quota {
        per_minute(600, 200)
    }
}

pub type MediaLimit<'r> = Result<RocketGovernor<'r, MediaQuota>, LimitError>;
pub type GraphqlLimit<'r> = Result<RocketGovernor<'r, GraphqlQuota>, LimitError>;
pub type WebhookLimit<'r> = Result<RocketGovernor<'r, WebhookQuota>, LimitError>;

/// Writes (mutations): 20 a minute per address, bursts of 10.
pub const WRITE_QUOTA: (u32, u32) = (20, 10);
/// Upload requests: 3 a minute per address and 3 a minute per user.
pub const UPLOAD_QUOTA: (u32, u32) = (3, 3);
/// Imports (any `import…` mutation field): 5 a minute per user.
pub const IMPORT_QUOTA: (u32, u32) = (5, 5);
/// Authentication failures: 100 an hour per address; past that, tokens are refused before verification.
pub const AUTH_FAILURES_PER_HOUR: u32 = 100;

/// A refused request: what the 429 says.
#[derive(Debug)]
pub struct Limited {
    pub class: &'static str,
    pub retry_after_secs: u64,
    pub limit: u32,
}

pub struct RateLimits {
    enabled: bool,
    writes: DefaultKeyedRateLimiter<IpAddr>,
    auth_failures: DefaultKeyedRateLimiter<IpAddr>,
    uploads_by_address: DefaultKeyedRateLimiter<IpAddr>,
    uploads_by_user: DefaultKeyedRateLimiter<uuid::Uuid>,
    imports_by_user: DefaultKeyedRateLimiter<uuid::Uuid>,
    auth_blocked: Mutex<HashMap<IpAddr, Instant>>,
}

impl RateLimits {
    pub fn new(enabled: bool) -> Self {
        let hourly = Quota::per_hour(NonZeroU32::new(AUTH_FAILURES_PER_HOUR).unwrap_or(NonZeroU32::MIN));
        Self {
            enabled,
            writes: RateLimiter::dashmap(per_minute(WRITE_QUOTA.0, WRITE_QUOTA.1)),
            auth_failures: RateLimiter::dashmap(hourly),
            uploads_by_address: RateLimiter::dashmap(per_minute(UPLOAD_QUOTA.0, UPLOAD_QUOTA.1)),
            uploads_by_user: RateLimiter::dashmap(per_minute(UPLOAD_QUOTA.0, UPLOAD_QUOTA.1)),
            imports_by_user: RateLimiter::dashmap(per_minute(IMPORT_QUOTA.0, IMPORT_QUOTA.1)),
            auth_blocked: Mutex::new(HashMap::new()),
        }
    }

    /// The verdict of a rocket-governor route guard.
    pub fn route<T>(&self, class: &'static str, guard: &Result<T, LimitError>) -> Result<(), Limited> {
        match guard {
            Err(LimitError::GovernedRequest(wait, quota)) if self.enabled => Err(Limited {
                class,
                retry_after_secs: (*wait).max(1),
                limit: quota.burst_size().get(),
            }),
            _ => Ok(()),
        }
    }

    pub fn write(&self, ip: Option<IpAddr>) -> Result<(), Limited> {
        self.check(&self.writes, ip, "writes", WRITE_QUOTA.1)
    }

    /// Checked before a multipart body is read, so a flood is refused before anything is spooled.
    pub fn upload_from(&self, ip: Option<IpAddr>) -> Result<(), Limited> {
        self.check(&self.uploads_by_address, ip, "uploads", UPLOAD_QUOTA.1)
    }

    pub fn upload_by(&self, user: uuid::Uuid) -> Result<(), Limited> {
        self.check(&self.uploads_by_user, Some(user), "uploads", UPLOAD_QUOTA.1)
    }

    pub fn import_by(&self, user: uuid::Uuid) -> Result<(), Limited> {
        self.check(&self.imports_by_user, Some(user), "imports", IMPORT_QUOTA.1)
    }

    fn check<K: std::hash::Hash + Eq + Clone>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: Option<K>,
        class: &'static str,
        limit: u32,
    ) -> Result<(), Limited> {
        let Some(key) = key.filter(|_| self.enabled) else {
            return Ok(());
        };
        limiter.retain_recent();
        limiter.check_key(&key).map_err(|not_until| Limited {
            class,
            retry_after_secs: not_until.wait_time_from(DefaultClock::default().now()).as_secs().max(1),
            limit,
        })
    }

    /// Refuses an address that has used up its authentication failures, before any verification work.
    pub fn auth_allowed(&self, ip: Option<IpAddr>) -> Result<(), Limited> {
        let Some(ip) = ip.filter(|_| self.enabled) else {
            return Ok(());
        };
        let mut blocked = self.auth_blocked.lock().map_err(|_| Limited {
            class: "auth_failures",
            retry_after_secs: 1,
            limit: AUTH_FAILURES_PER_HOUR,
        })?;
        let now = Instant::now();
        blocked.retain(|_, until| *until > now);
        match blocked.get(&ip) {
            Some(until) => Err(Limited {
                class: "auth_failures",
                retry_after_secs: until.duration_since(now).as_secs().max(1),
                limit: AUTH_FAILURES_PER_HOUR,
            }),
            None => Ok(()),
        }
    }

    /// Counts one failure; the address is blocked once its hourly allowance is gone.
    pub fn auth_failed(&self, ip: Option<IpAddr>) {
        let Some(ip) = ip.filter(|_| self.enabled) else {
            return;
        };
        self.auth_failures.retain_recent();
        if let Err(not_until) = self.auth_failures.check_key(&ip) {
            let wait = not_until
                .wait_time_from(DefaultClock::default().now())
                .max(Duration::from_secs(1));
            if let Ok(mut blocked) = self.auth_blocked.lock() {
                blocked.insert(ip, Instant::now() + wait);
            }
        }
    }
}

impl Limited {
    /// The 429: JSON, `Retry-After` in whole seconds (≥ 1), `X-RateLimit-*`, and a `rate_limited` event.
    pub fn respond(&self, log: &SecurityLog, meta: &RequestMeta, user_id: Option<&str>) -> JsonResponse {
        let details = json!({ "class": self.class, "retry_after": self.retry_after_secs });
        log.record("rate_limited", Severity::Medium, meta, user_id, details);
        JsonResponse::from(AppError::RateLimited {
            retry_after_secs: self.retry_after_secs,
        })
        .header("X-RateLimit-Limit", self.limit.to_string())
        .header("X-RateLimit-Remaining", "0")
        .header("X-RateLimit-Reset", self.retry_after_secs.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_blocked_after_its_hourly_authentication_failures() {
        let limits = RateLimits::new(true);
        let ip: IpAddr = [192, 0, 2, 1].into();
        let other: IpAddr = [192, 0, 2, 2].into();
        for _ in 0..AUTH_FAILURES_PER_HOUR {
            assert!(limits.auth_allowed(Some(ip)).is_ok());
            limits.auth_failed(Some(ip));
        }
        assert!(
            limits.auth_allowed(Some(ip)).is_ok(),
            "the 100th failure is still within the allowance"
        );
        limits.auth_failed(Some(ip));
        let limited = limits.auth_allowed(Some(ip)).err();
        assert!(
            limited
                .as_ref()
                .is_some_and(|l| l.class == "auth_failures" && l.retry_after_secs >= 1),
            "{limited:?}"
        );
        assert!(limits.auth_allowed(Some(other)).is_ok());
    }

    #[test]
    fn writes_allow_a_burst_then_refuse_and_disabled_limits_never_refuse() {
        let limits = RateLimits::new(true);
        let ip: IpAddr = [192, 0, 2, 3].into();
        for _ in 0..WRITE_QUOTA.1 {
            assert!(limits.write(Some(ip)).is_ok());
        }
        assert!(limits.write(Some(ip)).is_err());
        let off = RateLimits::new(false);
        for _ in 0..100 {
            assert!(off.write(Some(ip)).is_ok());
            off.auth_failed(Some(ip));
        }
        assert!(off.auth_allowed(Some(ip)).is_ok());
    }
}
