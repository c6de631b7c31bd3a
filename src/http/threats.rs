//! Suspicious traffic patterns seen at the edge: scanner user agents, and bursts of 4xx answers to one
//! client address (someone probing routes or guessing tokens).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rocket::fairing::{Fairing, Info, Kind};
use rocket::{Data, Request, Response};
use serde_json::json;

use crate::security_log::{RequestMeta, SecurityLog, Severity};

/// This many 4xx answers to one address within `BURST_WINDOW` is a burst (reported once per window).
pub const BURST_THRESHOLD: u32 = 20;
pub const BURST_WINDOW: Duration = Duration::from_secs(60);
/// Addresses tracked at most; older windows are dropped first.
const MAX_TRACKED: usize = 10_000;

#[derive(Default)]
pub struct ThreatWatch {
    errors: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl ThreatWatch {
    /// Counts a 4xx; true exactly when this one completes a burst.
    fn count_error(&self, ip: IpAddr) -> bool {
        let Ok(mut errors) = self.errors.lock() else {
            return false;
        };
        let now = Instant::now();
        if errors.len() >= MAX_TRACKED {
            errors.retain(|_, (start, _)| now.duration_since(*start) < BURST_WINDOW);
        }
        let entry = errors.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= BURST_WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 == BURST_THRESHOLD
    }
}

/// Records a security event from a fairing (routes use their guards instead).
pub async fn record(req: &Request<'_>, event_type: &str, severity: Severity, details: serde_json::Value) {
    if let (Some(log), rocket::outcome::Outcome::Success(meta)) =
        (req.rocket().state::<SecurityLog>(), req.guard::<RequestMeta>().await)
    {
        log.record(event_type, severity, &meta, None, details);
    }
}

#[rocket::async_trait]
impl Fairing for ThreatWatch {
    fn info(&self) -> Info {
        Info {
            name: "threat watch",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        if let Some(tool) = req.headers().get_one("User-Agent").and_then(crate::threats::scanner) {
            record(
                req,
                "suspicious_request",
                Severity::Medium,
                json!({ "pattern": "scanner_user_agent", "tool": tool }),
            )
            .await;
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let status = res.status().code;
        if !(400..500).contains(&status) {
            return;
        }
        if let Some(ip) = req.client_ip() {
            if self.count_error(ip) {
                let details = json!({ "pattern": "error_burst", "count": BURST_THRESHOLD, "window_secs": BURST_WINDOW.as_secs() });
                record(req, "suspicious_request", Severity::High, details).await;
            }
        }
    }
}
