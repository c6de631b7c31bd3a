//! `LOG_DIR/security_events.log`: one JSON line per refused or suspicious request, for operators and SIEMs.
//! Never holds a token, a secret or file contents: tokens appear only as a short SHA-256 fingerprint.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::log_file::LogFile;
pub use crate::log_file::{MAX_FILE_BYTES, ROTATED_FILES};

pub const FILE_NAME: &str = "security_events.log";
/// Every text value in a line (user agent, route, each string in `details`) is cut to this many characters.
pub const MAX_FIELD_CHARS: usize = 256;
/// No line is longer: a refused request cannot grow the log by more than this.
pub const MAX_LINE_BYTES: usize = 2048;
/// Appended to text that was cut.
const TRUNCATED: &str = "…[truncated]";

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// Where a request came from, as the HTTP edge saw it.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub request_id: String,
    pub client_ip: Option<String>,
    pub route: String,
    pub user_agent: Option<String>,
}

#[derive(Serialize)]
struct Line<'a> {
    time: String,
    event_type: &'a str,
    severity: Severity,
    request_id: &'a str,
    client_ip: Option<&'a str>,
    user_id: Option<&'a str>,
    route: String,
    user_agent: Option<String>,
    details: serde_json::Value,
}

/// The append-only security event file (mode 0600), rotated by size. Clones share the file.
#[derive(Clone)]
pub struct SecurityLog {
    file: Arc<LogFile>,
}

impl SecurityLog {
    pub fn open(log_dir: &Path) -> anyhow::Result<Self> {
        Self::open_with_limit(log_dir, MAX_FILE_BYTES)
    }

    pub fn open_with_limit(log_dir: &Path, max_bytes: u64) -> anyhow::Result<Self> {
        Ok(Self {
            file: Arc::new(LogFile::open(log_dir, FILE_NAME, max_bytes)?),
        })
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Appends one event and mirrors it to the tracing log. Attacker-controlled text anywhere in it is
    /// bounded: each string to `MAX_FIELD_CHARS`, the whole line to `MAX_LINE_BYTES`.
    pub fn record(
        &self,
        event_type: &str,
        severity: Severity,
        meta: &RequestMeta,
        user_id: Option<&str>,
        mut details: serde_json::Value,
    ) {
        bound_strings(&mut details);
        let mut line = Line {
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            event_type,
            severity,
            request_id: &meta.request_id,
            client_ip: meta.client_ip.as_deref(),
            user_id,
            route: truncate(&meta.route),
            user_agent: meta.user_agent.as_deref().map(truncate),
            details,
        };
        // Many long fields of multi-byte text can still add up: then keep the facts, drop the client text.
        if serde_json::to_string(&line).map_or(0, |text| text.len()) > MAX_LINE_BYTES {
            line.route = truncate_to(&line.route, 64);
            line.user_agent = line.user_agent.map(|ua| truncate_to(&ua, 64));
            line.details = serde_json::json!({ "truncated": true });
        }
        tracing::warn!(target: "homechef::security", event_type, request_id = %meta.request_id, "security event");
        self.file.append(&line);
    }
}

/// Cuts every string (and the key set of every object) in a JSON value to the field limit.
fn bound_strings(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => *text = truncate(text),
        serde_json::Value::Array(items) => {
            items.truncate(32);
            items.iter_mut().for_each(bound_strings);
        }
        serde_json::Value::Object(map) => {
            if map.len() > 32 || map.keys().any(|k| k.chars().count() > 64) {
                *value = serde_json::json!({ "truncated": true });
            } else {
                map.values_mut().for_each(bound_strings);
            }
        }
        _ => {}
    }
}

/// First 16 hex digits of the token's SHA-256: enough to correlate, useless to replay.
pub fn fingerprint(token: &str) -> String {
    hex::encode(&Sha256::digest(token.as_bytes())[..8])
}

/// Client text for a log: control characters removed, at most `MAX_FIELD_CHARS` characters, and marked
/// when it was cut.
pub fn truncate(text: &str) -> String {
    truncate_to(text, MAX_FIELD_CHARS)
}

fn truncate_to(text: &str, max: usize) -> String {
    let mut kept: String = text.chars().filter(|c| !c.is_control()).take(max + 1).collect();
    if kept.chars().count() > max {
        kept = kept.chars().take(max).collect();
        kept.push_str(TRUNCATED);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_short_and_stable() {
        assert_eq!(fingerprint("abc"), "ba7816bf8f01cfea");
        assert_ne!(fingerprint("abc"), fingerprint("abd"));
    }

    #[test]
    fn the_file_is_private_escaped_and_rotated_by_size() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("homechef-seclog-{}", uuid::Uuid::new_v4()));
        let log = SecurityLog::open_with_limit(&dir, 300).unwrap_or_else(|e| panic!("{e}"));
        let meta = RequestMeta {
            request_id: "r1".into(),
            client_ip: Some("203.0.113.1".into()),
            route: "POST /graphql".into(),
            user_agent: Some("evil\"\nagent".into()),
        };
        for _ in 0..4 {
            log.record(
                "test_event",
                Severity::Low,
                &meta,
                None,
                serde_json::json!({"k": "v\n\"x"}),
            );
        }
        let mode = std::fs::metadata(log.path())
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600);
        assert!(dir.join(format!("{FILE_NAME}.1")).exists(), "rotated");
        for line in std::fs::read_to_string(dir.join(format!("{FILE_NAME}.1")))
            .unwrap_or_default()
            .lines()
        {
            let value: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            assert_eq!(value["user_agent"], "evil\"agent");
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn client_text_is_truncated_and_stripped_of_control_characters() {
        assert_eq!(truncate("a\nb\u{1b}[31mc"), "ab[31mc");
        assert_eq!(truncate(&"x".repeat(256)), "x".repeat(256));
        assert_eq!(truncate(&"x".repeat(1000)), format!("{}{TRUNCATED}", "x".repeat(256)));
    }

    #[test]
    fn one_event_stays_under_two_kilobytes_whatever_the_client_sent() {
        let dir = std::env::temp_dir().join(format!("homechef-seclog-{}", uuid::Uuid::new_v4()));
        let log = SecurityLog::open(&dir).unwrap_or_else(|e| panic!("{e}"));
        let huge = "é".repeat(100_000);
        let meta = RequestMeta {
            request_id: "r1".into(),
            client_ip: Some("203.0.113.1".into()),
            route: format!("POST /{huge}"),
            user_agent: Some(huge.clone()),
        };
        let many: serde_json::Map<String, serde_json::Value> =
            (0..100).map(|i| (format!("k{i}"), serde_json::json!(huge))).collect();
        for details in [
            serde_json::json!({ "reason": format!("unknown kid {huge:?}") }),
            serde_json::json!({ "list": vec![huge.clone(); 1000] }),
            serde_json::Value::Object(many),
            serde_json::json!({ "a": huge, "b": huge, "c": huge, "d": huge }),
        ] {
            log.record("auth_failure", Severity::Medium, &meta, None, details);
        }
        let text = std::fs::read_to_string(log.path()).unwrap_or_default();
        assert_eq!(text.lines().count(), 4);
        for line in text.lines() {
            assert!(line.len() <= MAX_LINE_BYTES, "{} bytes", line.len());
            assert!(line.contains(TRUNCATED) || line.contains("\"truncated\":true"));
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
