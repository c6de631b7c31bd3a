//! `LOG_DIR/security_events.log`: one JSON line per refused or suspicious request, for operators and SIEMs.
//! Never holds a token, a secret or file contents: tokens appear only as a short SHA-256 fingerprint.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::log_file::LogFile;
pub use crate::log_file::{MAX_FILE_BYTES, ROTATED_FILES};

pub const FILE_NAME: &str = "security_events.log";
/// Client-supplied text (user agent, route) is cut to this many characters.
const MAX_FIELD_CHARS: usize = 256;

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

    /// Appends one event and mirrors it to the tracing log.
    pub fn record(
        &self,
        event_type: &str,
        severity: Severity,
        meta: &RequestMeta,
        user_id: Option<&str>,
        details: serde_json::Value,
    ) {
        let line = Line {
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
        tracing::warn!(target: "homechef::security", event_type, request_id = %meta.request_id, "security event");
        self.file.append(&line);
    }
}

/// First 16 hex digits of the token's SHA-256: enough to correlate, useless to replay.
pub fn fingerprint(token: &str) -> String {
    hex::encode(&Sha256::digest(token.as_bytes())[..8])
}

fn truncate(text: &str) -> String {
    text.chars().take(MAX_FIELD_CHARS).filter(|c| !c.is_control()).collect()
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
        assert_eq!(truncate(&"x".repeat(1000)).len(), MAX_FIELD_CHARS);
    }
}
