//! The upload pipeline: quota, static scan, antivirus, bounded decode and re-encode, then one of promote,
//! quarantine or reject, with a `file_uploads.log` line and, for refused or suspicious files, a security
//! event. Also the admin's release and the antivirus retry. The verdict on a file is in `screening`,
//! retention and garbage in `housekeeping`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel_async::AsyncConnection as _;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::clamd;
use super::model::{Garbage, Media, MediaResolution, MediaVariant, NewMedia};
use super::process::Rendition;
use super::scan::{self, Finding, FindingSeverity, Outcome, SCAN_PENDING};
use super::store::{Area, MediaStore, Spool, StoreError};
use super::urls::UrlSigner;
use crate::config::AppConfig;
use diesel_async::AsyncPgConnection;

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
    pub(super) antivirus: clamd::Antivirus,
    pub(super) workers: Semaphore,
    pub(super) log: LogFile,
    pub(super) security: SecurityLog,
    pub(super) quotas: Quotas,
    pub(super) admins: Vec<String>,
    pub max_upload_size: u64,
    pub(super) retention: Duration,
    /// A write to this instance's disk (quarantine, media) was refused for want of space, and none to the
    /// same area has succeeded since.
    pub(super) storage_full: [AtomicBool; 2],
}

/// Images a recipe may hold (promoted or in quarantine): keeps every recipe view bounded.
pub const MAX_IMAGES_PER_RECIPE: i64 = 30;

/// How many images are decoded at once: each may hold up to `MAX_DECODE_ALLOC` bytes.
pub const IMAGE_WORKERS: usize = 2;

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
