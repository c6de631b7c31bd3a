//! The verdict on an upload: the byte rules, the antivirus (when configured), a bounded decode and re-encode
//! under the worker limit, then promote, quarantine or reject, before anything is stored.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::clamd::{self, ClamVerdict};
use super::model::MediaResolution;
use super::process::{self, Rendition};
use super::scan::{self, Finding, FindingSeverity, ImageType, Outcome, Sniffed, SCAN_PENDING};
use super::service::MediaService;
use crate::error::{AppError, AppResult};
use crate::security_log::{RequestMeta, Severity};

/// The scan's conclusion, before anything is stored.
pub(super) struct Scanned {
    pub(super) findings: Vec<Finding>,
    pub(super) score: i32,
    pub(super) outcome: Outcome,
    pub(super) width: Option<i32>,
    pub(super) height: Option<i32>,
    pub(super) rendition: Option<Rendition>,
}

impl Scanned {
    /// The columns a scan decides, for a new row or an existing one.
    pub(super) fn resolution(&self) -> MediaResolution {
        MediaResolution {
            status: self.outcome.as_db().to_owned(),
            score: self.score,
            findings: serde_json::to_value(&self.findings).unwrap_or_default(),
            scan_pending: self.findings.iter().any(|f| f.code == SCAN_PENDING),
            width: self.width,
            height: self.height,
            blurhash: self.rendition.as_ref().and_then(|r| r.blurhash.clone()),
        }
    }
}

impl MediaService {
    /// The byte rules (off the async threads), then `deep_scan`. `claimed` is the client's file name and
    /// declared type, when the file still has them.
    pub(super) async fn scan(
        &self,
        bytes: Vec<u8>,
        claimed: Option<(String, Option<String>)>,
        mut findings: Vec<Finding>,
        release: bool,
    ) -> AppResult<(Sniffed, Scanned)> {
        let bytes = Arc::new(bytes);
        let static_bytes = Arc::clone(&bytes);
        let (sniffed, static_findings) = tokio::task::spawn_blocking(move || {
            let claimed = claimed
                .as_ref()
                .map(|(name, declared)| (name.as_str(), declared.as_deref()));
            static_scan(&static_bytes, claimed)
        })
        .await
        .map_err(AppError::internal)?;
        findings.extend(static_findings);
        let ty = match sniffed {
            Sniffed::Image(ty) => Some(ty),
            Sniffed::Other(_) => None,
        };
        Ok((sniffed, self.deep_scan(bytes, ty, findings, release).await?))
    }

    /// Antivirus (when configured), then a full decode under the worker limit, then the verdict; a file that
    /// will be promoted (or that an admin releases) is rendered in the same worker slot.
    pub(super) async fn deep_scan(
        &self,
        bytes: Arc<Vec<u8>>,
        ty: Option<ImageType>,
        mut findings: Vec<Finding>,
        release: bool,
    ) -> AppResult<Scanned> {
        let critical = |f: &[Finding]| f.iter().any(|f| f.severity == FindingSeverity::Critical);
        // Asked even when our own rules already refuse the file: its verdict completes the record.
        findings.extend(self.antivirus(&bytes).await);
        let Some(ty) = ty.filter(|_| !critical(&findings)) else {
            return Ok(self.conclude(findings, None, None, release));
        };
        let _permit = self.workers.acquire().await.map_err(AppError::internal)?;
        let before = findings.clone();
        let (findings, dims, rendition) = tokio::task::spawn_blocking(move || {
            let mut findings = before;
            let decoded = match process::decode(&bytes, ty) {
                Ok(decoded) => decoded,
                Err(finding) => {
                    findings.push(finding);
                    return (findings, None, None);
                }
            };
            let dims = (decoded.image.width(), decoded.image.height());
            let promote = match scan::verdict(&findings).1 {
                Outcome::Promoted => true,
                Outcome::Quarantined => release && !findings.iter().any(|f| f.code == SCAN_PENDING),
                Outcome::Rejected => false,
            };
            let rendition = promote.then(|| process::render(decoded));
            match rendition {
                Some(Err(_)) => {
                    findings.push(Finding::new(
                        "DECODE_FAILED",
                        FindingSeverity::Critical,
                        "the image could not be re-encoded",
                    ));
                    (findings, Some(dims), None)
                }
                Some(Ok(rendition)) => (findings, Some(dims), Some(rendition)),
                None => (findings, Some(dims), None),
            }
        })
        .await
        .map_err(AppError::internal)?;
        Ok(self.conclude(findings, dims, rendition, release))
    }

    pub(super) fn conclude(
        &self,
        findings: Vec<Finding>,
        dims: Option<(u32, u32)>,
        rendition: Option<Rendition>,
        release: bool,
    ) -> Scanned {
        let (score, mut outcome) = scan::verdict(&findings);
        if outcome == Outcome::Quarantined && release && rendition.is_some() {
            outcome = Outcome::Promoted;
        }
        if outcome == Outcome::Promoted && rendition.is_none() {
            outcome = Outcome::Quarantined;
        }
        let side = |v: u32| i32::try_from(v).ok();
        Scanned {
            findings,
            score,
            outcome,
            width: dims.and_then(|d| side(d.0)),
            height: dims.and_then(|d| side(d.1)),
            rendition: rendition.filter(|_| outcome == Outcome::Promoted),
        }
    }

    /// clamd's verdict as findings: infected is critical, unreachable holds the file as pending.
    pub(super) async fn antivirus(&self, bytes: &[u8]) -> Vec<Finding> {
        let Some(addr) = self.antivirus.addr() else {
            return Vec::new();
        };
        let verdict = clamd::scan(addr, bytes).await;
        self.antivirus_seen(verdict.as_ref().err().map(ToString::to_string));
        match verdict {
            Ok(ClamVerdict::Clean) => Vec::new(),
            Ok(ClamVerdict::Infected(signature)) => vec![Finding::new(
                "ANTIVIRUS_DETECTED",
                FindingSeverity::Critical,
                format!("ClamAV: {signature}"),
            )],
            Err(e) => {
                tracing::warn!(error = %e, "clamd unavailable; the file stays quarantined until it can be scanned");
                vec![Finding::new(
                    SCAN_PENDING,
                    FindingSeverity::Info,
                    "the antivirus scan is pending; the file is held until it completes",
                )]
            }
        }
    }

    /// `None` when no antivirus is configured; otherwise whether it is up, asking it (1 s at most) when
    /// nothing recent is known (health probes).
    pub async fn antivirus_up(&self) -> Option<bool> {
        let addr = self.antivirus.addr()?;
        if let Some(up) = self.antivirus.recent() {
            return Some(up);
        }
        Some(self.ping_antivirus(addr, Duration::from_secs(1)).await)
    }

    /// Asks clamd for a PING and records what it said.
    pub(super) async fn ping_antivirus(&self, addr: &str, timeout: Duration) -> bool {
        let up = clamd::ping_within(addr, timeout).await;
        self.antivirus_seen((!up).then(|| "no answer to PING".to_owned()));
        up
    }

    /// Records whether clamd answered (`error` when not); the start of an outage is a security event, once.
    pub(super) fn antivirus_seen(&self, error: Option<String>) {
        if self.antivirus.observe(error.is_none()) {
            let error = error.unwrap_or_default();
            tracing::error!(%error, "antivirus unavailable: uploads are held in quarantine until it answers");
            self.security.record(
                "antivirus_unavailable",
                Severity::High,
                &RequestMeta::default(),
                None,
                json!({ "error": error }),
            );
        }
    }
}

/// Type by magic bytes, byte-pattern rules, and (when given) the name and declared type.
fn static_scan(bytes: &[u8], claimed: Option<(&str, Option<&str>)>) -> (Sniffed, Vec<Finding>) {
    if bytes.is_empty() {
        return (
            Sniffed::Other("application/x-empty"),
            vec![Finding::new(
                "EMPTY_FILE",
                FindingSeverity::Critical,
                "the file is empty",
            )],
        );
    }
    let sniffed = scan::sniff(bytes);
    let mut findings = scan::signatures(bytes, sniffed);
    if let (Sniffed::Image(ty), Some((name, declared_type))) = (sniffed, claimed) {
        findings.extend(scan::check_declared(ty, declared_type, name));
    }
    (sniffed, findings)
}
