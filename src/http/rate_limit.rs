//! Rate limits per client address and per user. Route classes use rocket-governor guards; classes decided
//! after the body is read (writes, uploads, imports, authentication failures) use governor directly. With
//! `REDIS_URL` the same classes are counted in Redis (`shared_limits`), so that instances behind a load
//! balancer enforce one limit; the in-process counters keep counting and decide whenever Redis cannot be
//! asked. rocket-governor's defaults are patched on purpose: its `Retry-After` can be 0 (we send at least 1),
//! and it refuses requests without a client address (local test clients) with a 400, which we let through
//! instead.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rocket::http::Method;
use rocket::request::{FromRequest, Outcome};
use rocket::Request;
use rocket_governor::{LimitError, RocketGovernable, RocketGovernor};
use serde_json::json;

use super::response::JsonResponse;
use super::shared_limits::{Allowance, SharedLimiter};
use crate::error::AppError;
use crate::security_log::{RequestMeta, SecurityLog, Severity};

fn per_minute(n: u32, burst: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
}

/// A class of routes limited per client address: its name (in 429s and events) and requests per minute
/// with the burst.
pub trait RouteClass: Send + Sync + 'static {
    const NAME: &'static str;
    const PER_MINUTE: (u32, u32);
}

/// `/graphql`: 60 requests a minute per address, bursts of 20.
pub struct GraphqlQuota;

impl RouteClass for GraphqlQuota {
    const NAME: &'static str = "graphql";
    const PER_MINUTE: (u32, u32) = (60, 20);
}

/// `/webhooks/clerk`: 10 a minute per address.
pub struct WebhookQuota;

impl RouteClass for WebhookQuota {
    const NAME: &'static str = "webhooks";
    const PER_MINUTE: (u32, u32) = (10, 10);
}

/// `/media/…`: 600 requests a minute per address, bursts of 200 (a grid of photos loads many at once).
pub struct MediaQuota;

impl RouteClass for MediaQuota {
    const NAME: &'static str = "media";
    const PER_MINUTE: (u32, u32) = (600, 200);
}

/// rocket-governor's guard for each class, from its numbers (orphan rules forbid one blanket impl).
macro_rules! governable {
    ($($class:ty),*) => {$(
        impl<'r> RocketGovernable<'r> for $class {
            fn quota(_: Method, _: &str) -> Quota {
                per_minute(<$class>::PER_MINUTE.0, <$class>::PER_MINUTE.1)
            }
        }
    )*};
}
governable!(GraphqlQuota, WebhookQuota, MediaQuota);

/// The verdict of a route class for this request, decided once whoever asks first (the body reader or the
/// handler), so that a request is counted once.
pub struct RouteLimit<Q>(pub Result<(), Limited>, PhantomData<Q>);

/// What the request's local cache holds for class `Q`.
struct RouteVerdict<Q>(Result<(), Limited>, PhantomData<Q>);

#[rocket::async_trait]
impl<'r, Q> FromRequest<'r> for RouteLimit<Q>
where
    Q: RouteClass + RocketGovernable<'r>,
{
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let verdict = req
            .local_cache_async(async {
                let Some(limits) = req.rocket().state::<RateLimits>() else {
                    return RouteVerdict::<Q>(Ok(()), PhantomData);
                };
                let local = match req.guard::<Result<RocketGovernor<'r, Q>, LimitError>>().await {
                    Outcome::Success(guard) => limits.route(Q::NAME, &guard),
                    _ => Ok(()),
                };
                let allowance = Allowance::per_minute(Q::PER_MINUTE.0, Q::PER_MINUTE.1);
                let verdict = limits
                    .shared_or(Q::NAME, req.client_ip(), allowance, Q::PER_MINUTE.1, local)
                    .await;
                RouteVerdict::<Q>(verdict, PhantomData)
            })
            .await;
        Outcome::Success(RouteLimit(verdict.0.clone(), PhantomData))
    }
}

/// Writes (mutations): 20 a minute per address, bursts of 15 (a household on one home network ticking off a
/// list, or one person ticking a dozen items in a row after unpacking, is a burst).
pub const WRITE_QUOTA: (u32, u32) = (20, 15);
/// Upload requests: 3 a minute per address and 3 a minute per user.
pub const UPLOAD_QUOTA: (u32, u32) = (3, 3);
/// Imports that fetch (`importRecipeFromUrl`, `importRecipeImage`): 5 a minute per user.
pub const IMPORT_QUOTA: (u32, u32) = (5, 5);
/// Drafts from what the user sent (`importRecipeFromHtml`, `importRecipeFromText`; nothing is fetched, and
/// reading a page is bounded): 60 a minute per user, bursts of 20.
pub const DRAFT_QUOTA: (u32, u32) = (60, 20);
/// What an operation's `import…` fields do, for their rate class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportClass {
    /// One of them fetches (`importRecipeFromUrl`, `importRecipeImage`): the `imports` class.
    Fetch,
    /// They only read what the user sent (`importRecipeFromHtml`, `importRecipeFromText`): the `drafts` class,
    /// and not a write.
    Draft,
}

/// Authentication failures: 100 an hour per address; past that, tokens are refused before verification. An
/// expired token whose signature held is counted against its subject instead (a stale tab), so one stale
/// client cannot lock its neighbours behind the same address out.
pub const AUTH_FAILURES_PER_HOUR: u32 = 100;

/// A refused request: what the 429 says.
#[derive(Clone, Debug)]
pub struct Limited {
    pub class: &'static str,
    pub retry_after_secs: u64,
    pub limit: u32,
}

pub struct RateLimits {
    enabled: bool,
    writes: DefaultKeyedRateLimiter<IpAddr>,
    /// Keyed by address, or `sub:<subject>` for stale tokens.
    auth_failures: DefaultKeyedRateLimiter<String>,
    uploads_by_address: DefaultKeyedRateLimiter<IpAddr>,
    uploads_by_user: DefaultKeyedRateLimiter<uuid::Uuid>,
    imports_by_user: DefaultKeyedRateLimiter<uuid::Uuid>,
    drafts_by_user: DefaultKeyedRateLimiter<uuid::Uuid>,
    auth_blocked: Mutex<HashMap<String, Instant>>,
    /// Redis, when `REDIS_URL` is set.
    shared: Option<SharedLimiter>,
}

impl RateLimits {
    pub fn new(enabled: bool, shared: Option<SharedLimiter>) -> Self {
        let hourly = Quota::per_hour(NonZeroU32::new(AUTH_FAILURES_PER_HOUR).unwrap_or(NonZeroU32::MIN));
        Self {
            enabled,
            writes: RateLimiter::dashmap(per_minute(WRITE_QUOTA.0, WRITE_QUOTA.1)),
            auth_failures: RateLimiter::dashmap(hourly),
            uploads_by_address: RateLimiter::dashmap(per_minute(UPLOAD_QUOTA.0, UPLOAD_QUOTA.1)),
            uploads_by_user: RateLimiter::dashmap(per_minute(UPLOAD_QUOTA.0, UPLOAD_QUOTA.1)),
            imports_by_user: RateLimiter::dashmap(per_minute(IMPORT_QUOTA.0, IMPORT_QUOTA.1)),
            drafts_by_user: RateLimiter::dashmap(per_minute(DRAFT_QUOTA.0, DRAFT_QUOTA.1)),
            auth_blocked: Mutex::new(HashMap::new()),
            shared,
        }
    }

    /// `None` without `REDIS_URL`; else whether Redis answered the last time it was asked.
    /// Redis (`REDIS_URL`), when the instances share it.
    pub fn shared_store(&self) -> Option<&SharedLimiter> {
        self.shared.as_ref()
    }

    pub fn shared_store_up(&self) -> Option<bool> {
        self.shared.as_ref().map(SharedLimiter::is_up)
    }

    /// The shared counter's verdict for `key` in `class` when Redis answers, else the in-process `local` one.
    async fn shared_or<K: std::fmt::Display>(
        &self,
        class: &'static str,
        key: Option<K>,
        allowance: Allowance,
        limit: u32,
        local: Result<(), Limited>,
    ) -> Result<(), Limited> {
        let (Some(shared), Some(key), true) = (&self.shared, key, self.enabled) else {
            return local;
        };
        match shared.check(class, &key.to_string(), allowance).await {
            // Redis may have come back empty: the in-process counter, which counted all along, must agree.
            Some(Ok(())) if shared.settling() => local,
            Some(Ok(())) => Ok(()),
            Some(Err(wait)) => Err(Limited {
                class,
                retry_after_secs: wait.as_millis().div_ceil(1000).max(1).try_into().unwrap_or(u64::MAX),
                limit,
            }),
            None => local,
        }
    }

    /// The verdict of a rocket-governor route guard.
    fn route<T>(&self, class: &'static str, guard: &Result<T, LimitError>) -> Result<(), Limited> {
        match guard {
            Err(LimitError::GovernedRequest(wait, quota)) if self.enabled => Err(Limited {
                class,
                retry_after_secs: (*wait).max(1),
                limit: quota.burst_size().get(),
            }),
            _ => Ok(()),
        }
    }

    pub async fn write(&self, ip: Option<IpAddr>) -> Result<(), Limited> {
        self.check(&self.writes, ip, "writes", WRITE_QUOTA).await
    }

    /// Checked before a multipart body is read, so a flood is refused before anything is spooled.
    pub async fn upload_from(&self, ip: Option<IpAddr>) -> Result<(), Limited> {
        self.check(&self.uploads_by_address, ip, "uploads", UPLOAD_QUOTA).await
    }

    pub async fn upload_by(&self, user: uuid::Uuid) -> Result<(), Limited> {
        // Counted apart from the addresses' uploads: a user id and an address never spell the same key.
        self.check(&self.uploads_by_user, Some(user), "uploads", UPLOAD_QUOTA)
            .await
    }

    /// One import of its class: `imports` for what fetches, `drafts` for what only reads what was sent.
    pub async fn import_by(&self, user: uuid::Uuid, class: ImportClass) -> Result<(), Limited> {
        match class {
            ImportClass::Fetch => {
                self.check(&self.imports_by_user, Some(user), "imports", IMPORT_QUOTA)
                    .await
            }
            ImportClass::Draft => {
                self.check(&self.drafts_by_user, Some(user), "drafts", DRAFT_QUOTA)
                    .await
            }
        }
    }

    /// Counts one request of `key` in process, then asks the shared counter when there is one.
    async fn check<K: std::hash::Hash + Eq + Clone + std::fmt::Display>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: Option<K>,
        class: &'static str,
        (per_minute, burst): (u32, u32),
    ) -> Result<(), Limited> {
        let Some(key) = key.filter(|_| self.enabled) else {
            return Ok(());
        };
        limiter.retain_recent();
        let local = limiter.check_key(&key).map_err(|not_until| Limited {
            class,
            retry_after_secs: not_until.wait_time_from(DefaultClock::default().now()).as_secs().max(1),
            limit: burst,
        });
        let allowance = Allowance::per_minute(per_minute, burst);
        self.shared_or(class, Some(key), allowance, burst, local).await
    }

    /// Refuses an address that has used up its authentication failures, before any verification work.
    pub async fn auth_allowed(&self, ip: Option<IpAddr>) -> Result<(), Limited> {
        self.failures_allowed(ip.map(|ip| ip.to_string())).await
    }

    /// Counts one failure of an address; it is blocked once its hourly allowance is gone.
    pub async fn auth_failed(&self, ip: Option<IpAddr>) {
        self.failure(ip.map(|ip| ip.to_string())).await;
    }

    /// Refuses the expired tokens of a subject that has used up its failures (its valid tokens, and everyone
    /// else at its address, are not affected).
    pub async fn stale_token_allowed(&self, subject: &str) -> Result<(), Limited> {
        self.failures_allowed(Some(format!("sub:{subject}"))).await
    }

    /// Counts one expired token of a subject.
    pub async fn stale_token_failed(&self, subject: &str) {
        self.failure(Some(format!("sub:{subject}"))).await;
    }

    async fn failures_allowed(&self, key: Option<String>) -> Result<(), Limited> {
        let Some(key) = key.filter(|_| self.enabled) else {
            return Ok(());
        };
        let shared = match &self.shared {
            Some(shared) => shared.blocked_for("auth_failures", &key).await,
            None => None,
        };
        let settling = self.shared.as_ref().is_some_and(SharedLimiter::settling);
        match shared {
            Some(Some(wait)) => {
                return Err(Limited {
                    class: "auth_failures",
                    retry_after_secs: wait.as_secs().max(1),
                    limit: AUTH_FAILURES_PER_HOUR,
                })
            }
            // Not blocked in Redis; just back from an outage, it may have forgotten: ask the local list too.
            Some(None) if !settling => return Ok(()),
            _ => {}
        }
        let mut blocked = self.auth_blocked.lock().map_err(|_| Limited {
            class: "auth_failures",
            retry_after_secs: 1,
            limit: AUTH_FAILURES_PER_HOUR,
        })?;
        let now = Instant::now();
        blocked.retain(|_, until| *until > now);
        match blocked.get(&key) {
            Some(until) => Err(Limited {
                class: "auth_failures",
                retry_after_secs: until.duration_since(now).as_secs().max(1),
                limit: AUTH_FAILURES_PER_HOUR,
            }),
            None => Ok(()),
        }
    }

    async fn failure(&self, key: Option<String>) {
        let Some(key) = key.filter(|_| self.enabled) else {
            return;
        };
        self.auth_failures.retain_recent();
        let local = self.auth_failures.check_key(&key).map_err(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .max(Duration::from_secs(1))
        });
        let allowance = Allowance::per_hour(AUTH_FAILURES_PER_HOUR);
        let verdict = match &self.shared {
            Some(shared) => match shared.check("auth_failures", &key, allowance).await {
                Some(Ok(())) if shared.settling() => local,
                Some(verdict) => verdict,
                None => local,
            },
            None => local,
        };
        if let Err(wait) = verdict {
            if let Some(shared) = &self.shared {
                shared.block("auth_failures", &key, wait).await;
            }
            if let Ok(mut blocked) = self.auth_blocked.lock() {
                blocked.insert(key, Instant::now() + wait);
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

    #[tokio::test]
    async fn an_address_is_blocked_after_its_hourly_authentication_failures() {
        let limits = RateLimits::new(true, None);
        let ip: IpAddr = [192, 0, 2, 1].into();
        let other: IpAddr = [192, 0, 2, 2].into();
        for _ in 0..AUTH_FAILURES_PER_HOUR {
            assert!(limits.auth_allowed(Some(ip)).await.is_ok());
            limits.auth_failed(Some(ip)).await;
        }
        assert!(
            limits.auth_allowed(Some(ip)).await.is_ok(),
            "the 100th failure is still within the allowance"
        );
        limits.auth_failed(Some(ip)).await;
        let limited = limits.auth_allowed(Some(ip)).await.err();
        assert!(
            limited
                .as_ref()
                .is_some_and(|l| l.class == "auth_failures" && l.retry_after_secs >= 1),
            "{limited:?}"
        );
        assert!(limits.auth_allowed(Some(other)).await.is_ok());
        // A stale token's failures are its subject's: they block it, not the address it came from.
        for _ in 0..=AUTH_FAILURES_PER_HOUR {
            limits.stale_token_failed("dev_stale").await;
        }
        assert!(limits.stale_token_allowed("dev_stale").await.is_err());
        assert!(limits.stale_token_allowed("dev_fresh").await.is_ok());
        assert!(limits.auth_allowed(Some(other)).await.is_ok());
    }

    #[tokio::test]
    async fn writes_allow_a_burst_then_refuse_and_disabled_limits_never_refuse() {
        let limits = RateLimits::new(true, None);
        let ip: IpAddr = [192, 0, 2, 3].into();
        for _ in 0..WRITE_QUOTA.1 {
            assert!(limits.write(Some(ip)).await.is_ok());
        }
        assert!(limits.write(Some(ip)).await.is_err());
        let off = RateLimits::new(false, None);
        for _ in 0..100 {
            assert!(off.write(Some(ip)).await.is_ok());
            off.auth_failed(Some(ip)).await;
        }
        assert!(off.auth_allowed(Some(ip)).await.is_ok());
    }
}
