//! The upload pipeline: quota, static scan, antivirus, bounded decode and re-encode, then one of promote,
//! quarantine or reject, with a `file_uploads.log` line and, for refused or suspicious files, a security
//! event. Also the admin's release, the antivirus retry, retention and file garbage collection.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel_async::AsyncConnection as _;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::clamd::{self, ClamVerdict};
use super::model::{Garbage, Media, MediaResolution, MediaVariant, NewMedia};
use super::process::{self, Rendition};
use super::scan::{self, Finding, FindingSeverity, ImageType, Outcome, Sniffed, SCAN_PENDING};
use super::store::{Area, MediaStore, Spool, StoreError, STALE_PARTIAL};
use super::urls::UrlSigner;
use crate::config::AppConfig;
use diesel_async::AsyncPgConnection;

use crate::db::DbPool;
use crate::error::{AppError, AppResult};
use crate::log_file::{LogFile, MAX_FILE_BYTES};
use crate::security_log::{RequestMeta, SecurityLog, Severity};

pub const UPLOAD_LOG: &str = "file_uploads.log";

/// One part of a multipart request, spooled to quarantine by the HTTP edge.
pub struct SpooledFile {
    pub spool: Spool,
    /// The client's name for it: checked, never used, never echoed.
    pub name: String,
    pub declared_type: Option<String>,
    pub size: u64,
    pub sha256: String,
    /// The part was larger than `MAX_UPLOAD_SIZE`; what was spooled has been discarded.
    pub too_large: bool,
}

/// The spooled parts of one request, by upload index; a resolver takes each at most once, and whatever is
/// left when the request ends is removed with its spool.
pub struct SpooledFiles(std::sync::Mutex<Vec<Option<SpooledFile>>>);

impl SpooledFiles {
    pub fn new(files: Vec<SpooledFile>) -> Self {
        Self(std::sync::Mutex::new(files.into_iter().map(Some).collect()))
    }

    pub fn take(&self, index: usize) -> Option<SpooledFile> {
        self.0.lock().ok()?.get_mut(index)?.take()
    }
}

/// What became of one file.
pub struct UploadOutcome {
    pub media: Media,
    pub findings: Vec<Finding>,
}

/// The row a scan ends in: a new upload, or a decision about a held one.
enum Row {
    New(NewMedia),
    Resolved(MediaResolution),
}

/// Limits per user.
#[derive(Clone, Copy, Debug)]
pub struct Quotas {
    pub files_per_day: i64,
    pub total_bytes: i64,
}

pub struct MediaService {
    pub store: MediaStore,
    pub signer: UrlSigner,
    antivirus: clamd::Antivirus,
    workers: Semaphore,
    log: LogFile,
    security: SecurityLog,
    quotas: Quotas,
    admins: Vec<String>,
    pub max_upload_size: u64,
    retention: Duration,
    /// A write to this instance's disk (quarantine, media) was refused for want of space, and none to the
    /// same area has succeeded since.
    storage_full: [AtomicBool; 2],
}

/// Images a recipe may hold (promoted or in quarantine): keeps every recipe view bounded.
pub const MAX_IMAGES_PER_RECIPE: i64 = 30;

/// How many images are decoded at once: each may hold up to `MAX_DECODE_ALLOC` bytes.
pub const IMAGE_WORKERS: usize = 2;

/// The scan's conclusion, before anything is stored.
struct Scanned {
    findings: Vec<Finding>,
    score: i32,
    outcome: Outcome,
    width: Option<i32>,
    height: Option<i32>,
    rendition: Option<Rendition>,
}

impl Scanned {
    /// The columns a scan decides, for a new row or an existing one.
    fn resolution(&self) -> MediaResolution {
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

#[derive(Serialize)]
struct UploadLine<'a> {
    time: String,
    upload_id: Uuid,
    request_id: &'a str,
    user_id: Uuid,
    recipe_id: Uuid,
    declared_type: Option<&'a str>,
    sniffed_type: Option<&'a str>,
    size: i64,
    sha256: &'a str,
    score: i32,
    findings: Vec<LoggedFinding<'a>>,
    outcome: &'a str,
    duration_ms: u128,
}

#[derive(Serialize)]
struct LoggedFinding<'a> {
    code: &'a str,
    severity: FindingSeverity,
}

impl MediaService {
    pub fn new(config: &AppConfig, security: SecurityLog) -> anyhow::Result<Self> {
        let bucket = config
            .media_bucket
            .as_ref()
            .map(super::bucket::Bucket::open)
            .transpose()?;
        let store = MediaStore::open(&config.media_dir, &config.quarantine_dir, bucket)?;
        // Whatever no request of this or another server on this disk can still be writing goes now.
        let swept = store.sweep_partials(crate::deadlines::upload_lifetime(config.body_timeout));
        if swept > 0 {
            tracing::info!(swept, "removed partial uploads left by an earlier run");
        }
        Ok(Self {
            store,
            signer: UrlSigner::new(&config.secret_key, config.public_base_url.as_deref()),
            antivirus: clamd::Antivirus::new(config.clamd_addr.clone()),
            workers: Semaphore::new(IMAGE_WORKERS),
            log: LogFile::open(&config.log_dir, UPLOAD_LOG, MAX_FILE_BYTES)?,
            security,
            quotas: config.upload_quotas,
            admins: config.admin_user_ids.clone(),
            max_upload_size: config.max_upload_size,
            retention: Duration::from_secs(config.quarantine_retention_days.saturating_mul(86_400)),
            storage_full: Default::default(),
        })
    }

    pub fn security(&self) -> &SecurityLog {
        &self.security
    }

    /// A write to this instance's disk that failed, as the client hears it: no space left (or the quota of
    /// the disk used up) is `STORAGE_FULL`, and the start of such an episode in an area is one
    /// `storage_full` event and one log line; anything else is internal.
    pub fn disk_error(&self, area: Area, error: std::io::Error) -> AppError {
        use std::io::ErrorKind;
        if !matches!(error.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded) {
            return AppError::internal(error);
        }
        if !self.full(area).swap(true, Ordering::Relaxed) {
            let area = area.name();
            tracing::error!(area, error = %error, "the disk is full: uploads are refused until there is room");
            self.security.record(
                "storage_full",
                Severity::High,
                &RequestMeta::default(),
                None,
                json!({ "area": area, "error": error.to_string() }),
            );
        }
        AppError::StorageFull
    }

    /// A write to an area succeeded: its episode of a full disk, if any, is over.
    pub fn disk_ok(&self, area: Area) {
        if self.full(area).swap(false, Ordering::Relaxed) {
            tracing::info!(area = area.name(), "the disk has room again: uploads are accepted");
        }
    }

    fn full(&self, area: Area) -> &AtomicBool {
        match area {
            Area::Quarantine => &self.storage_full[0],
            Area::Media => &self.storage_full[1],
        }
    }

    /// Whether uploads can be written: not after a write refused for want of space, until a write to that
    /// area succeeds again (an upload, or the small probe written here when asked).
    pub async fn storage_up(&self) -> bool {
        for area in [Area::Quarantine, Area::Media] {
            if self.full(area).load(Ordering::Relaxed) {
                if self.store.probe_space(area).await.is_err() {
                    return false;
                }
                self.disk_ok(area);
            }
        }
        true
    }

    pub fn is_admin(&self, clerk_id: &str) -> bool {
        self.admins.iter().any(|a| a == clerk_id)
    }

    /// Bytes the server fetched itself (an imported picture), spooled to quarantine like an uploaded part;
    /// `name` is the last segment of the address, checked like a client's file name.
    pub async fn spool_bytes(&self, name: String, declared_type: String, bytes: &[u8]) -> AppResult<SpooledFile> {
        use tokio::io::AsyncWriteExt as _;
        let full = |e| self.disk_error(Area::Quarantine, e);
        let (spool, file) = self.store.spool().map_err(full)?;
        let mut file = tokio::fs::File::from_std(file);
        file.write_all(bytes).await.map_err(full)?;
        file.flush().await.map_err(full)?;
        self.disk_ok(Area::Quarantine);
        let mut digest = StreamingDigest::new();
        digest.update(bytes);
        Ok(SpooledFile {
            spool,
            name,
            declared_type: Some(declared_type),
            size: bytes.len() as u64,
            sha256: digest.finish(),
            too_large: false,
        })
    }

    /// Refuses the whole request when it would go over the user's daily file count or stored bytes.
    async fn check_quota(
        &self,
        conn: &mut AsyncPgConnection,
        owner_id: Uuid,
        recipe_id: Uuid,
        files: &[SpooledFile],
    ) -> AppResult<()> {
        let (today, stored) = Media::usage(conn, owner_id).await?;
        let count = i64::try_from(files.len()).unwrap_or(i64::MAX);
        if Media::kept_for_recipe(conn, recipe_id).await? + count > MAX_IMAGES_PER_RECIPE {
            return Err(AppError::QuotaExceeded(format!(
                "a recipe holds at most {MAX_IMAGES_PER_RECIPE} images; delete some first"
            )));
        }
        if today + count > self.quotas.files_per_day {
            return Err(AppError::QuotaExceeded(format!(
                "daily upload limit reached: {} files in 24 hours",
                self.quotas.files_per_day
            )));
        }
        let incoming: u64 = files.iter().filter(|f| !f.too_large).map(|f| f.size).sum();
        if stored.saturating_add(i64::try_from(incoming).unwrap_or(i64::MAX)) > self.quotas.total_bytes {
            return Err(AppError::QuotaExceeded(format!(
                "storage quota of {} bytes would be exceeded",
                self.quotas.total_bytes
            )));
        }
        Ok(())
    }

    /// Checks the quotas for a request's files and uploads them, in one transaction holding the user's
    /// upload lock: the check sees every file an earlier request of the same user stored, however many
    /// requests arrive at once, so the daily count, the per-recipe cap and the byte quota hold exactly.
    pub async fn upload_all(
        &self,
        conn: &mut AsyncPgConnection,
        meta: &RequestMeta,
        owner_id: Uuid,
        recipe_id: Uuid,
        files: Vec<SpooledFile>,
    ) -> AppResult<Vec<UploadOutcome>> {
        let outcomes = conn
            .transaction::<_, AppError, _>(async |conn| {
                Media::lock_uploads_of(conn, owner_id).await?;
                self.check_quota(conn, owner_id, recipe_id, &files).await?;
                let mut outcomes = Vec::with_capacity(files.len());
                for file in files {
                    outcomes.push(self.upload(conn, meta, owner_id, recipe_id, file).await?);
                }
                Ok(outcomes)
            })
            .await;
        // Files of replaced or unstored variants, now that the transaction that queued them has committed.
        self.collect_garbage(conn).await;
        outcomes
    }

    /// Scans one spooled file and stores the outcome.
    pub async fn upload(
        &self,
        conn: &mut AsyncPgConnection,
        meta: &RequestMeta,
        owner_id: Uuid,
        recipe_id: Uuid,
        file: SpooledFile,
    ) -> AppResult<UploadOutcome> {
        let started = Instant::now();
        let mut findings = scan::check_name(&file.name);
        let (sniffed, scanned) = if file.too_large {
            findings.push(Finding::new(
                "FILE_TOO_LARGE",
                FindingSeverity::Critical,
                format!("the file is larger than {} bytes", self.max_upload_size),
            ));
            (None, self.conclude(findings, None, None, false))
        } else {
            let path = file.spool.path().map(std::path::Path::to_path_buf).unwrap_or_default();
            let bytes = tokio::fs::read(&path).await.map_err(AppError::internal)?;
            let claimed = Some((file.name.clone(), file.declared_type.clone()));
            let (sniffed, scanned) = self.scan(bytes, claimed, findings, false).await?;
            (Some(sniffed), scanned)
        };
        let id = Uuid::now_v7();
        let new = NewMedia {
            id,
            owner_id,
            recipe_id,
            declared_type: file.declared_type.as_deref().map(|t| scan::clip(t, 100)),
            sniffed_type: sniffed.map(|s| s.mime().to_owned()),
            size_bytes: i64::try_from(file.size).unwrap_or(i64::MAX),
            sha256: file.sha256.clone(),
            scan: scanned.resolution(),
        };
        let media = if scanned.outcome == Outcome::Quarantined {
            self.store
                .keep_in_quarantine(file.spool, id)
                .map_err(AppError::internal)?;
            let inserted = Media::insert(conn, new, Vec::new()).await;
            if inserted.is_err() {
                let _ = self.store.remove(Area::Quarantine, &id.to_string()).await;
            }
            inserted?
        } else {
            self.persist(conn, id, scanned.rendition.as_ref(), Row::New(new))
                .await?
        };
        self.record(meta, &media, &scanned.findings, started);
        Ok(UploadOutcome {
            media,
            findings: scanned.findings,
        })
    }

    /// The byte rules (off the async threads), then `deep_scan`. `claimed` is the client's file name and
    /// declared type, when the file still has them.
    async fn scan(
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
    async fn deep_scan(
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

    fn conclude(
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
    async fn antivirus(&self, bytes: &[u8]) -> Vec<Finding> {
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
    async fn ping_antivirus(&self, addr: &str, timeout: Duration) -> bool {
        let up = clamd::ping_within(addr, timeout).await;
        self.antivirus_seen((!up).then(|| "no answer to PING".to_owned()));
        up
    }

    /// Records whether clamd answered (`error` when not); the start of an outage is a security event, once.
    fn antivirus_seen(&self, error: Option<String>) {
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

    /// Writes the variants' files and the row in one transaction holding each file's lock, so the garbage
    /// collector cannot remove a shared content-addressed file between "it is there" and "a row uses it".
    async fn persist(
        &self,
        conn: &mut AsyncPgConnection,
        id: Uuid,
        rendition: Option<&Rendition>,
        row: Row,
    ) -> AppResult<Media> {
        let mut keys: Vec<String> = rendition
            .map(|r| {
                r.variants
                    .iter()
                    .map(|v| MediaStore::key(&v.sha256, v.extension))
                    .collect()
            })
            .unwrap_or_default();
        // One order for every transaction: two promotions sharing files cannot deadlock.
        keys.sort_unstable();
        keys.dedup();
        let stored = conn
            .transaction::<_, AppError, _>(async |conn| {
                for key in &keys {
                    Garbage::lock_file(conn, key).await?;
                }
                let variants = self.write_variants(id, rendition).await?;
                Ok(match row {
                    Row::New(new) => Media::insert(conn, new, variants).await?,
                    Row::Resolved(resolution) => Media::resolve(conn, id, resolution, variants).await?,
                })
            })
            .await;
        // Files written for rows that were never stored go now, unless another image uses them. Not when the
        // store (or the database) stopped answering: the removals would wait out the same deadlines, and what
        // was written is found by the next start-up sweep.
        if stored
            .as_ref()
            .is_err_and(|e| !matches!(e, AppError::ServiceUnavailable))
        {
            for key in &keys {
                let _ = conn
                    .transaction::<_, diesel::result::Error, _>(async |conn| self.remove_if_unused(conn, key).await)
                    .await;
            }
        }
        stored
    }

    async fn write_variants(&self, id: Uuid, rendition: Option<&Rendition>) -> AppResult<Vec<MediaVariant>> {
        let Some(rendition) = rendition else {
            return Ok(Vec::new());
        };
        let mut variants = Vec::with_capacity(rendition.variants.len());
        for v in &rendition.variants {
            let key = match self.store.write_variant(&v.bytes, &v.sha256, v.extension).await {
                Ok(key) => key,
                Err(StoreError::Disk(e)) => return Err(self.disk_error(Area::Media, e)),
                Err(e) => return Err(e.into()),
            };
            self.disk_ok(Area::Media);
            variants.push(MediaVariant {
                media_id: id,
                name: v.name.to_owned(),
                storage_key: key,
                content_type: v.content_type.to_owned(),
                width: i32::try_from(v.width).unwrap_or(i32::MAX),
                height: i32::try_from(v.height).unwrap_or(i32::MAX),
                size_bytes: i64::try_from(v.bytes.len()).unwrap_or(i64::MAX),
            });
        }
        Ok(variants)
    }

    /// Re-scans a quarantined file and promotes it unless the re-scan finds something critical or the
    /// antivirus still cannot be asked (admin review: the score alone no longer holds it back).
    pub async fn rescan(
        &self,
        conn: &mut AsyncPgConnection,
        meta: &RequestMeta,
        media: Media,
        release: bool,
    ) -> AppResult<UploadOutcome> {
        let started = Instant::now();
        let path = self.store.path(Area::Quarantine, &media.id.to_string());
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(AppError::NotFound),
            Err(e) => return Err(AppError::internal(e)),
        };
        // The name and declared type are not kept; their findings are carried over from the first scan.
        let carried: Vec<Finding> = media
            .findings()
            .into_iter()
            .filter(|f| {
                matches!(
                    f.code.as_str(),
                    "SUSPICIOUS_FILENAME" | "TYPE_MISMATCH" | "MISSING_EXTENSION"
                )
            })
            .collect();
        let (_, scanned) = self.scan(bytes, None, carried, release).await?;
        let resolution = scanned.resolution();
        let media = self
            .persist(conn, media.id, scanned.rendition.as_ref(), Row::Resolved(resolution))
            .await?;
        self.record(meta, &media, &scanned.findings, started);
        self.collect_garbage(conn).await;
        Ok(UploadOutcome {
            media,
            findings: scanned.findings,
        })
    }

    /// One line per file in `file_uploads.log`; refused and held-for-review files are security events too.
    fn record(&self, meta: &RequestMeta, media: &Media, findings: &[Finding], started: Instant) {
        let outcome = media.outcome();
        self.log.append(&UploadLine {
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            upload_id: media.id,
            request_id: &meta.request_id,
            user_id: media.owner_id,
            recipe_id: media.recipe_id,
            declared_type: media.declared_type.as_deref(),
            sniffed_type: media.sniffed_type.as_deref(),
            size: media.size_bytes,
            sha256: &media.sha256,
            score: media.score,
            findings: findings
                .iter()
                .map(|f| LoggedFinding {
                    code: &f.code,
                    severity: f.severity,
                })
                .collect(),
            outcome: outcome.as_db(),
            duration_ms: started.elapsed().as_millis(),
        });
        // A pending antivirus scan is only informational as a finding, but it is why a file is held.
        let codes: Vec<&str> = findings
            .iter()
            .filter(|f| f.severity > FindingSeverity::Info || f.code == SCAN_PENDING)
            .map(|f| f.code.as_str())
            .collect();
        let event = match outcome {
            Outcome::Rejected => Some(("upload_rejected", Severity::High)),
            Outcome::Quarantined => Some(("upload_quarantined", Severity::Medium)),
            Outcome::Promoted => None,
        };
        if let Some((event, severity)) = event {
            let user = media.owner_id.to_string();
            self.security.record(
                event,
                severity,
                meta,
                Some(&user),
                json!({ "upload_id": media.id, "score": media.score, "findings": codes }),
            );
        }
    }

    /// Removes files whose rows are gone (content-addressed files only once nothing refers to them).
    /// Inside a transaction it does nothing: the deletions that queued the files could still roll back, and a
    /// file is removed only once they have committed (the caller collects after its commit, or the maintenance
    /// run does).
    pub async fn collect_garbage(&self, conn: &mut AsyncPgConnection) -> usize {
        if crate::db::in_transaction(conn) {
            return 0;
        }
        let mut removed = 0;
        loop {
            let Ok(batch) = Garbage::next_batch(conn, 200).await else {
                return removed;
            };
            if batch.is_empty() {
                return removed;
            }
            for item in batch {
                let area = Area::from_db(&item.area);
                let collected = conn
                    .transaction::<_, diesel::result::Error, _>(async |conn| {
                        let removed = if area == Area::Media {
                            self.remove_if_unused(conn, &item.storage_key).await?
                        } else {
                            self.remove_file(area, &item.storage_key).await
                        };
                        Garbage::done(conn, item.id).await.map(|()| removed)
                    })
                    .await;
                match collected {
                    Ok(true) => removed += 1,
                    Ok(false) => {}
                    Err(_) => return removed,
                }
            }
        }
    }

    /// Removes a content-addressed media file unless a row refers to it, under the file's lock (held until the
    /// caller's transaction ends, so that nobody stores a row for it meanwhile). Whether it was removed; a
    /// bucket that did not answer rolls the caller's transaction back, so the item waits for the next run.
    async fn remove_if_unused(&self, conn: &mut AsyncPgConnection, key: &str) -> diesel::QueryResult<bool> {
        Garbage::lock_file(conn, key).await?;
        if Garbage::still_referenced(conn, key).await? {
            return Ok(false);
        }
        match self.remove_file(Area::Media, key).await {
            true => Ok(true),
            false => Err(diesel::result::Error::RollbackTransaction),
        }
    }

    /// Removes a stored file. False when the bucket did not answer (worth another try later); a local file
    /// that cannot be removed is logged and not retried.
    async fn remove_file(&self, area: Area, key: &str) -> bool {
        match self.store.remove(area, key).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "could not remove a media file");
                !matches!(e, StoreError::Bucket(_))
            }
        }
    }

    /// Files no row accounts for (a crash between writing a file and committing its row) go to the collector,
    /// which removes a media file only if, under its lock, no row refers to it. Run once at start-up.
    pub async fn sweep_orphans(&self, pool: &DbPool) -> usize {
        let Ok(mut conn) = pool.get().await else {
            return 0;
        };
        let mut queued = 0;
        for chunk in self.store.settled_keys(Area::Media, STALE_PARTIAL).await.chunks(500) {
            let used = Garbage::referenced(&mut conn, chunk)
                .await
                .unwrap_or_else(|_| chunk.to_vec());
            let unused: Vec<String> = chunk.iter().filter(|k| !used.contains(k)).cloned().collect();
            if !unused.is_empty() && Garbage::enqueue(&mut conn, "media", &unused).await.is_ok() {
                queued += unused.len();
            }
        }
        for chunk in self
            .store
            .settled_keys(Area::Quarantine, STALE_PARTIAL)
            .await
            .chunks(500)
        {
            let ids: Vec<Uuid> = chunk.iter().filter_map(|k| Uuid::parse_str(k).ok()).collect();
            let Ok(held) = Media::quarantined_ids(&mut conn, &ids).await else {
                continue;
            };
            let unused: Vec<String> = chunk
                .iter()
                .filter(|k| Uuid::parse_str(k).map_or(true, |id| !held.contains(&id)))
                .cloned()
                .collect();
            if !unused.is_empty() && Garbage::enqueue(&mut conn, "quarantine", &unused).await.is_ok() {
                queued += unused.len();
            }
        }
        if queued > 0 {
            tracing::info!(
                queued,
                "files with no row found at start-up; removing those still unused"
            );
            self.collect_garbage(&mut conn).await;
        }
        queued
    }

    /// The periodic chores: antivirus retries, retention, garbage.
    pub async fn maintain(&self, pool: &DbPool) {
        let Ok(mut conn) = pool.get().await else {
            return;
        };
        // Pending files are retried only once clamd answers, so an outage does not re-log them every minute.
        let clamd_up = match self.antivirus.addr() {
            Some(addr) => self.ping_antivirus(addr, Duration::from_secs(5)).await,
            None => false,
        };
        if clamd_up {
            for media in Media::pending_scans(&mut conn, 20).await.unwrap_or_default() {
                if let Err(e) = self.rescan(&mut conn, &RequestMeta::default(), media, false).await {
                    tracing::warn!(error = %e, "antivirus retry failed");
                }
            }
        }
        let before = chrono::Utc::now() - chrono::Duration::from_std(self.retention).unwrap_or_default();
        match Media::purge_unpromoted(&mut conn, before).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(
                purged,
                "quarantine retention: old quarantined and rejected uploads removed"
            ),
            Err(e) => tracing::warn!(error = %e, "quarantine retention failed"),
        }
        self.collect_garbage(&mut conn).await;
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

/// SHA-256 of a spool, computed as it is written.
pub struct StreamingDigest(Sha256);

impl StreamingDigest {
    pub fn new() -> Self {
        Self(Sha256::new())
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}

impl Default for StreamingDigest {
    fn default() -> Self {
        Self::new()
    }
}
