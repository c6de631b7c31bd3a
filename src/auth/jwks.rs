//! Clerk's signing keys fetched from a JWKS endpoint, cached, and kept working when the endpoint does not.
//!
//! - **One fetch at a time.** A fetch runs as its own task; every request that needs keys meanwhile waits
//!   for that one fetch instead of queueing its own.
//! - **Bounded waits.** No request waits more than `MAX_WAIT` in total, whatever the endpoint does.
//! - **Back-off.** After a failed fetch, no new attempt for `FAILURE_BACKOFF`.
//! - **Stale keys.** The set is fresh for `TTL`; while the endpoint fails, the last good set keeps being used
//!   for up to `MAX_STALE` (logged), so a Clerk outage does not sign everybody out.
//! - **Forged `kid`s.** An unknown `kid` triggers at most one refetch per `REFRESH_COOLDOWN`.
//!
//! Redirects are not followed and the token's own `jku`/`x5u`/`jwk` headers are never looked at.

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::DecodingKey;
use tokio::sync::watch;

use super::AuthError;

pub const TTL: Duration = Duration::from_secs(3600);
pub const MAX_STALE: Duration = Duration::from_secs(24 * 3600);
pub const FAILURE_BACKOFF: Duration = Duration::from_secs(30);
pub const REFRESH_COOLDOWN: Duration = Duration::from_secs(300);
pub const MAX_WAIT: Duration = Duration::from_secs(5);
const MAX_JWKS_BYTES: u64 = 256 * 1024;

/// The rules above as numbers (shortened by unit tests).
#[derive(Clone, Copy, Debug)]
struct Timing {
    ttl: Duration,
    max_stale: Duration,
    failure_backoff: Duration,
    refresh_cooldown: Duration,
    max_wait: Duration,
}

const TIMING: Timing = Timing {
    ttl: TTL,
    max_stale: MAX_STALE,
    failure_backoff: FAILURE_BACKOFF,
    refresh_cooldown: REFRESH_COOLDOWN,
    max_wait: MAX_WAIT,
};

#[derive(Default)]
struct State {
    by_kid: HashMap<String, DecodingKey>,
    loaded_at: Option<Instant>,
    /// Last refetch caused by an unknown `kid` (the initial and TTL loads do not count).
    last_unknown_refresh: Option<Instant>,
    /// The last fetch failed, when and why (cleared by a good one).
    failed: Option<(Instant, String)>,
    /// The fetch in flight: waiters are woken when it ends (its sender is dropped).
    in_flight: Option<watch::Receiver<()>>,
    /// When serving stale keys was last logged (once per back-off period, not per request).
    stale_logged_at: Option<Instant>,
}

struct Inner {
    url: String,
    timing: Timing,
    state: Mutex<State>,
}

pub struct JwksCache(Arc<Inner>);

/// What a request does next, decided under the lock.
enum Step {
    Done(Result<DecodingKey, AuthError>),
    Wait(watch::Receiver<()>),
}

impl JwksCache {
    pub fn new(url: String) -> Self {
        Self::with_timing(url, TIMING)
    }

    fn with_timing(url: String, timing: Timing) -> Self {
        Self(Arc::new(Inner {
            url,
            timing,
            state: Mutex::new(State::default()),
        }))
    }

    pub fn url(&self) -> &str {
        &self.0.url
    }

    /// The key for `kid`, waiting at most `MAX_WAIT` for a fetch (ours or one already in flight).
    pub async fn key(&self, kid: &str) -> Result<DecodingKey, AuthError> {
        let deadline = tokio::time::Instant::now() + self.0.timing.max_wait;
        let mut waited = false;
        loop {
            let mut waiter = match self.step(kid, waited) {
                Step::Done(result) => return result,
                Step::Wait(waiter) => waiter,
            };
            waited = true;
            // Woken when the fetch ends, whatever its outcome; then decide again without fetching.
            if tokio::time::timeout_at(deadline, waiter.changed()).await.is_err() {
                return self.settle(&mut self.0.lock(), kid, Instant::now());
            }
        }
    }

    fn step(&self, kid: &str, waited: bool) -> Step {
        let inner = &self.0;
        let now = Instant::now();
        let mut state = inner.lock();
        let fresh = state
            .loaded_at
            .is_some_and(|t| now.duration_since(t) < inner.timing.ttl);
        if let (true, Some(key)) = (fresh, state.by_kid.get(kid)) {
            return Step::Done(Ok(key.clone()));
        }
        // Past its freshness but within `MAX_STALE`, a key we hold is used at once while the set refreshes
        // in the background: only requests that need a key we do not have wait for the fetch.
        let stale_key = state
            .loaded_at
            .filter(|t| now.duration_since(*t) < inner.timing.max_stale)
            .and_then(|_| state.by_kid.get(kid).cloned());
        if let Some(in_flight) = &state.in_flight {
            return match stale_key {
                Some(key) => Step::Done(Ok(key)),
                None => Step::Wait(in_flight.clone()),
            };
        }
        let backing_off = state
            .failed
            .as_ref()
            .is_some_and(|(t, _)| now.duration_since(*t) < inner.timing.failure_backoff);
        let unknown_kid_allowed = state
            .last_unknown_refresh
            .is_none_or(|t| now.duration_since(t) >= inner.timing.refresh_cooldown);
        if waited || backing_off || (fresh && !unknown_kid_allowed) {
            return Step::Done(self.settle(&mut state, kid, now));
        }
        if fresh {
            state.last_unknown_refresh = Some(now);
        }
        let (done, waiter) = watch::channel(());
        state.in_flight = Some(waiter.clone());
        drop(state);
        let inner = Arc::clone(inner);
        tokio::spawn(async move {
            let (url, timeout) = (inner.url.clone(), inner.timing.max_wait);
            let fetched = tokio::task::spawn_blocking(move || fetch_blocking(&url, timeout))
                .await
                .map_err(|e| format!("fetch task failed: {e}"))
                .and_then(|body| body)
                .and_then(|body| parse_jwks(&body));
            let mut state = inner.lock();
            match fetched {
                Ok(keys) => {
                    state.by_kid = keys;
                    state.loaded_at = Some(Instant::now());
                    state.failed = None;
                }
                Err(reason) => {
                    tracing::warn!(url = %inner.url, %reason, "JWKS fetch failed; next attempt after the back-off");
                    state.failed = Some((Instant::now(), reason));
                }
            }
            state.in_flight = None;
            drop(done);
        });
        match stale_key {
            Some(key) => Step::Done(Ok(key)),
            None => Step::Wait(waiter),
        }
    }

    /// The answer without fetching: a key we hold (stale ones while the endpoint fails, within
    /// `MAX_STALE`), else unavailable (the endpoint is failing) or an unknown `kid`.
    fn settle(&self, state: &mut State, kid: &str, now: Instant) -> Result<DecodingKey, AuthError> {
        let timing = self.0.timing;
        let age = state.loaded_at.map(|t| now.duration_since(t));
        if let (Some(age), Some(key)) = (age, state.by_kid.get(kid)) {
            if age < timing.ttl {
                return Ok(key.clone());
            }
            if age < timing.max_stale {
                let log_due = state
                    .stale_logged_at
                    .is_none_or(|t| now.duration_since(t) >= timing.failure_backoff);
                if log_due {
                    state.stale_logged_at = Some(now);
                    tracing::warn!(url = %self.0.url, age_secs = age.as_secs(), "JWKS endpoint failing: using the last good key set");
                }
                return Ok(key.clone());
            }
        }
        match (&state.failed, &state.in_flight) {
            (Some((_, reason)), _) => Err(AuthError::KeysUnavailable(reason.clone())),
            (None, Some(_)) => Err(AuthError::KeysUnavailable("JWKS fetch still running".into())),
            (None, None) if age.is_some_and(|a| a < timing.ttl) => {
                Err(AuthError::InvalidToken(format!("unknown kid {kid:?}")))
            }
            (None, None) => Err(AuthError::KeysUnavailable("no usable key set".into())),
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent after every statement: a panic elsewhere cannot leave it half-written.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn fetch_blocking(url: &str, timeout: Duration) -> Result<String, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
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
    use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

    const N: &str = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";
    const SERVE: u8 = 0;
    const FAIL: u8 = 1;
    const HANG: u8 = 2;

    /// A JWKS endpoint on 127.0.0.1 that serves key `k1`, answers 500 or never answers, counting requests.
    struct Stub {
        url: String,
        mode: Arc<AtomicU8>,
        hits: Arc<AtomicUsize>,
    }

    impl Stub {
        async fn start(mode: u8) -> Self {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let url = format!(
                "http://{}/jwks",
                listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
            );
            let (mode, hits) = (Arc::new(AtomicU8::new(mode)), Arc::new(AtomicUsize::new(0)));
            let (m, h) = (mode.clone(), hits.clone());
            tokio::spawn(async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    let (m, h) = (m.clone(), h.clone());
                    tokio::spawn(async move {
                        let mut buf = [0u8; 2048];
                        let _ = stream.read(&mut buf).await;
                        h.fetch_add(1, Ordering::SeqCst);
                        let (status, body) = match m.load(Ordering::SeqCst) {
                            SERVE => (
                                "200 OK",
                                format!(r#"{{"keys":[{{"kty":"RSA","kid":"k1","n":"{N}","e":"AQAB"}}]}}"#),
                            ),
                            FAIL => ("500 Internal Server Error", String::new()),
                            _ => {
                                tokio::time::sleep(Duration::from_secs(60)).await;
                                return;
                            }
                        };
                        let response = format!(
                            "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = stream.write_all(response.as_bytes()).await;
                    });
                }
            });
            Self { url, mode, hits }
        }

        fn set(&self, mode: u8) {
            self.mode.store(mode, Ordering::SeqCst);
        }

        fn hits(&self) -> usize {
            self.hits.load(Ordering::SeqCst)
        }
    }

    fn timing(ttl_ms: u64, max_stale_ms: u64) -> Timing {
        Timing {
            ttl: Duration::from_millis(ttl_ms),
            max_stale: Duration::from_millis(max_stale_ms),
            failure_backoff: Duration::from_millis(300),
            refresh_cooldown: Duration::from_millis(300),
            max_wait: Duration::from_millis(400),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hanging_endpoint_costs_one_fetch_and_one_bounded_wait_then_backs_off() {
        let stub = Stub::start(HANG).await;
        let cache = Arc::new(JwksCache::with_timing(stub.url.clone(), timing(60_000, 120_000)));
        let started = Instant::now();
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.key("k1").await })
            })
            .collect();
        for waiter in waiters {
            let result = waiter.await.unwrap_or_else(|e| panic!("{e}"));
            assert!(
                matches!(result, Err(AuthError::KeysUnavailable(_))),
                "{:?}",
                result.err()
            );
        }
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(1_500),
            "all waited together, boundedly: {took:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(stub.hits(), 1, "single flight");
        // The failed fetch backs off: the next request is answered at once, without a new attempt.
        let again = Instant::now();
        assert!(matches!(cache.key("k1").await, Err(AuthError::KeysUnavailable(_))));
        assert!(again.elapsed() < Duration::from_millis(100));
        assert_eq!(stub.hits(), 1);
        // After the back-off the endpoint is tried again, and a recovered one is used.
        stub.set(SERVE);
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(cache.key("k1").await.is_ok());
        assert_eq!(stub.hits(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_last_good_keys_outlive_their_freshness_while_the_endpoint_fails_up_to_the_stale_limit() {
        let stub = Stub::start(SERVE).await;
        let cache = JwksCache::with_timing(stub.url.clone(), timing(100, 1_000));
        assert!(cache.key("k1").await.is_ok());
        assert!(cache.key("k1").await.is_ok());
        assert_eq!(stub.hits(), 1, "cached while fresh");
        stub.set(FAIL);
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(cache.key("k1").await.is_ok(), "stale key served while refreshing");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(stub.hits(), 2);
        assert!(cache.key("k1").await.is_ok(), "still served during the back-off");
        assert_eq!(stub.hits(), 2, "no attempt during the back-off");
        assert!(
            matches!(cache.key("other").await, Err(AuthError::KeysUnavailable(_))),
            "an unknown kid cannot be checked while the endpoint fails"
        );
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        assert!(
            matches!(cache.key("k1").await, Err(AuthError::KeysUnavailable(_))),
            "past the stale limit"
        );
        stub.set(SERVE);
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(cache.key("k1").await.is_ok(), "recovered");
    }

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
