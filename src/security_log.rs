//! `LOG_DIR/security_events.log`: one JSON line per refused or suspicious request, for operators and SIEMs.
//! Never holds a token, a secret or file contents: tokens appear only as a short SHA-256 fingerprint.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context as _;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

pub const FILE_NAME: &str = "security_events.log";
/// The file is rotated past this size; `ROTATED_FILES` older files are kept (`.1` newest).
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
pub const ROTATED_FILES: usize = 5;
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

/// The append-only security event file (mode 0600), rotated by size.
pub struct SecurityLog {
    path: PathBuf,
    max_bytes: u64,
    file: Mutex<File>,
}

impl SecurityLog {
    pub fn open(log_dir: &Path) -> anyhow::Result<Self> {
        Self::open_with_limit(log_dir, MAX_FILE_BYTES)
    }

    pub fn open_with_limit(log_dir: &Path, max_bytes: u64) -> anyhow::Result<Self> {
        std::fs::create_dir_all(log_dir).with_context(|| format!("cannot create LOG_DIR {}", log_dir.display()))?;
        let path = log_dir.join(FILE_NAME);
        let file = open_append(&path)?;
        Ok(Self {
            path,
            max_bytes,
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
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
        let Ok(mut text) = serde_json::to_string(&line) else {
            return;
        };
        text.push('\n');
        let Ok(mut file) = self.file.lock() else {
            return;
        };
        if file.write_all(text.as_bytes()).is_err() {
            tracing::error!(path = %self.path.display(), "could not write the security event log");
        }
        if file.metadata().is_ok_and(|m| m.len() > self.max_bytes) {
            match self.rotate() {
                Ok(fresh) => *file = fresh,
                Err(e) => tracing::error!(error = %e, "could not rotate the security event log"),
            }
        }
    }

    /// `x.log` → `x.log.1` → … → `x.log.N` (dropped), then a new `x.log`.
    fn rotate(&self) -> anyhow::Result<File> {
        let numbered = |n: usize| PathBuf::from(format!("{}.{n}", self.path.display()));
        for n in (1..ROTATED_FILES).rev() {
            if numbered(n).exists() {
                std::fs::rename(numbered(n), numbered(n + 1))?;
            }
        }
        std::fs::rename(&self.path, numbered(1))?;
        open_append(&self.path)
    }
}

fn open_append(path: &Path) -> anyhow::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
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
