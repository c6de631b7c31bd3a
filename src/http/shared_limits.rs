//! Rate-limit counters in Redis (`REDIS_URL`), so that every instance behind a load balancer enforces one limit:
//! the same classes and numbers as in process, each check one round trip (a GCRA step in a Lua script, timed by
//! Redis's clock so the instances' clocks do not matter). When Redis cannot be asked the caller falls back to its
//! in-process counters; the outage is a security event once, `/health` shows it, and Redis is asked again once
//! a second in the background until it answers (a request never waits on that probe). For a minute after Redis
//! answers again (restarted, perhaps empty) a request must pass the in-process counter too, which counted all
//! along: an emptied Redis gives nobody a fresh burst.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use serde_json::json;

use crate::security_log::{RequestMeta, SecurityLog, Severity};

/// Longer than a healthy round trip on a local network by far; shorter than a client would notice.
const TIMEOUT: Duration = Duration::from_millis(250);
/// While Redis is down, how often it is asked again.
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// After an outage, how long the in-process counters are consulted as well (the longest window of a per-minute
/// class).
const SETTLE: Duration = Duration::from_secs(60);

/// One GCRA step: KEYS[1] holds the theoretical arrival time in ms; ARGV[1] is the interval between requests
/// (ms), ARGV[2] the burst. Returns 0 when allowed (and counts it), else the ms to wait (nothing counted).
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local wait = tat + interval - interval * burst - now
if wait > 0 then return wait end
redis.call('SET', KEYS[1], tat + interval, 'PX', tat + interval - now)
return 0
";

/// A class's allowance: one request every `interval`, up to `burst` at once.
#[derive(Clone, Copy, Debug)]
pub struct Allowance {
    pub interval: Duration,
    pub burst: u32,
}

impl Allowance {
    pub fn per_minute(n: u32, burst: u32) -> Self {
        Self {
            interval: Duration::from_secs(60) / n.max(1),
            burst: burst.max(1),
        }
    }

    pub fn per_hour(n: u32) -> Self {
        Self {
            interval: Duration::from_secs(3600) / n.max(1),
            burst: n.max(1),
        }
    }
}

pub struct SharedLimiter {
    script: redis::Script,
    link: std::sync::Arc<Link>,
}

/// The connection and what is known of Redis's state, shared with the background probe.
struct Link {
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    /// Set during an outage: when Redis was last asked.
    down_since: Mutex<Option<Instant>>,
    up: AtomicBool,
    /// A probe is under way.
    probing: AtomicBool,
    /// When Redis last answered again after an outage.
    back_since: Mutex<Option<Instant>>,
    security: SecurityLog,
}

impl SharedLimiter {
    /// Nothing is connected yet: the first check connects.
    pub fn new(url: &str, security: SecurityLog) -> anyhow::Result<Self> {
        Ok(Self {
            script: redis::Script::new(GCRA),
            link: std::sync::Arc::new(Link {
                client: redis::Client::open(url).map_err(|e| anyhow::anyhow!("REDIS_URL: {e}"))?,
                connection: tokio::sync::Mutex::new(None),
                down_since: Mutex::new(None),
                up: AtomicBool::new(true),
                probing: AtomicBool::new(false),
                back_since: Mutex::new(None),
                security,
            }),
        })
    }

    /// Whether the last attempt to ask Redis worked.
    pub fn is_up(&self) -> bool {
        self.link.up.load(Ordering::Relaxed)
    }

    /// Redis answers again after an outage, and not for long: its counters may have been lost with it.
    pub fn settling(&self) -> bool {
        self.link
            .back_since
            .lock()
            .is_ok_and(|back| back.is_some_and(|since| since.elapsed() < SETTLE))
    }

    /// `Some(Ok)` allowed, `Some(Err(wait))` refused, `None` when Redis cannot be asked (use local counters).
    pub async fn check(&self, class: &str, key: &str, allowance: Allowance) -> Option<Result<(), Duration>> {
        let interval = u64::try_from(allowance.interval.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut invocation = self.script.key(format!("homechef:rl:{class}:{key}"));
        invocation.arg(interval).arg(allowance.burst);
        let wait: u64 = self
            .ask(|mut conn| async move { invocation.invoke_async(&mut conn).await })
            .await?;
        Some(if wait == 0 {
            Ok(())
        } else {
            Err(Duration::from_millis(wait))
        })
    }

    /// Marks `key` of `class` blocked for `wait` (authentication failures past their allowance).
    pub async fn block(&self, class: &str, key: &str, wait: Duration) {
        self.set_text(&format!("homechef:rl:{class}:{key}:blocked"), "1", wait)
            .await;
    }

    /// How long `key` of `class` stays blocked: `Some(None)` not blocked, `None` when Redis cannot be asked.
    pub async fn blocked_for(&self, class: &str, key: &str) -> Option<Option<Duration>> {
        let name = format!("homechef:rl:{class}:{key}:blocked");
        let ms: i64 = self
            .ask(|mut conn| async move { redis::cmd("PTTL").arg(name).query_async(&mut conn).await })
            .await?;
        Some(u64::try_from(ms).ok().filter(|ms| *ms > 0).map(Duration::from_millis))
    }

    /// A text value kept in Redis (persisted query documents); `None` when absent or Redis cannot be asked.
    pub async fn get_text(&self, key: &str) -> Option<String> {
        let key = key.to_owned();
        self.ask(|mut conn| async move { redis::cmd("GET").arg(key).query_async(&mut conn).await })
            .await
            .flatten()
    }

    /// Keeps a text value in Redis for `ttl` (1 ms at least); nothing happens when Redis cannot be asked.
    pub async fn set_text(&self, key: &str, value: &str, ttl: Duration) {
        let (key, value) = (key.to_owned(), value.to_owned());
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let _: Option<()> = self
            .ask(|mut conn| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("PX")
                    .arg(ms)
                    .query_async(&mut conn)
                    .await
            })
            .await;
    }

    /// Runs one command on the shared connection (made on first use), within `TIMEOUT`; `None` on any failure,
    /// which starts or continues an outage. During an outage nothing is asked: a background probe asks Redis
    /// once a second until it answers.
    async fn ask<T, F, Fut>(&self, command: F) -> Option<T>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        if !self.is_up() {
            self.link.probe();
            return None;
        }
        match tokio::time::timeout(TIMEOUT, async { command(self.link.connect().await?).await }).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                self.link.failed(&e.to_string()).await;
                None
            }
            Err(_) => {
                self.link.failed("timed out").await;
                None
            }
        }
    }
}

impl Link {
    /// The shared connection, made when there is none.
    async fn connect(&self) -> redis::RedisResult<MultiplexedConnection> {
        let mut slot = self.connection.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        let conn = self.client.get_multiplexed_async_connection().await?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Starts the background probe unless one runs or Redis was asked less than `RETRY_EVERY` ago.
    fn probe(self: &std::sync::Arc<Self>) {
        let due = self
            .down_since
            .lock()
            .is_ok_and(|down| down.is_none_or(|since| since.elapsed() >= RETRY_EVERY));
        if !due || self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let link = std::sync::Arc::clone(self);
        tokio::spawn(async move {
            let ping = async {
                let mut conn = link.connect().await?;
                redis::cmd("PING").query_async::<String>(&mut conn).await
            };
            match tokio::time::timeout(TIMEOUT, ping).await {
                Ok(Ok(_)) => link.recovered(),
                Ok(Err(e)) => link.failed(&e.to_string()).await,
                Err(_) => link.failed("timed out").await,
            }
            link.probing.store(false, Ordering::Release);
        });
    }

    fn recovered(&self) {
        if let Ok(mut down) = self.down_since.lock() {
            if down.take().is_some() {
                tracing::warn!("rate-limit store reachable again: limits are shared across instances again");
            }
        }
        if let Ok(mut back) = self.back_since.lock() {
            *back = Some(Instant::now());
        }
        self.up.store(true, Ordering::Relaxed);
    }

    async fn failed(&self, error: &str) {
        // A broken connection is replaced on the next attempt.
        *self.connection.lock().await = None;
        if let Ok(mut down) = self.down_since.lock() {
            *down = Some(Instant::now());
        }
        if self.up.swap(false, Ordering::Relaxed) {
            tracing::error!(%error, "rate-limit store unreachable: limits are per instance until it answers");
            self.security.record(
                "rate_limit_store_unavailable",
                Severity::High,
                &RequestMeta::default(),
                None,
                json!({ "error": error }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowances_match_the_in_process_quotas() {
        let graphql = Allowance::per_minute(60, 20);
        assert_eq!((graphql.interval, graphql.burst), (Duration::from_secs(1), 20));
        let auth = Allowance::per_hour(100);
        assert_eq!((auth.interval, auth.burst), (Duration::from_secs(36), 100));
    }
}
