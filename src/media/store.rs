//! The two areas. `QUARANTINE_DIR` (0700, files 0600) receives every upload as it streams, under a
//! server-made name (`<uuid>.part`), and keeps quarantined files as `<media id>`; it is always this
//! instance's own disk. Promoted variants are content-addressed (`<2 hex>/<sha256>.<ext>`) in `MEDIA_DIR`,
//! written to a temporary name and renamed so a reader never sees half a file, or in a bucket
//! (`MEDIA_STORE=s3://…`, see `bucket`). Nothing is ever named after what the client sent.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use uuid::Uuid;

use super::bucket::Bucket;
use crate::error::AppError;

/// Stored files younger than this may belong to work in flight (a row not yet committed); older files no
/// row accounts for are a crash's left-overs, swept at start-up. Partial files go sooner: once no request
/// can still be writing them (`deadlines::upload_lifetime`).
pub const STALE_PARTIAL: Duration = Duration::from_secs(15 * 60);
const PARTIAL_SUFFIX: &str = ".part";

#[derive(Clone, Debug)]
pub struct MediaStore {
    media_dir: PathBuf,
    quarantine_dir: PathBuf,
    /// Where variants go instead of `media_dir`, when configured.
    bucket: Option<std::sync::Arc<Bucket>>,
}

/// A stored file could not be written, read or removed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Disk(#[from] std::io::Error),
    #[error("object storage: {0}")]
    Bucket(#[from] object_store::Error),
}

impl StoreError {
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::Disk(e) => e.kind() == std::io::ErrorKind::NotFound,
            Self::Bucket(e) => matches!(e, object_store::Error::NotFound { .. }),
        }
    }
}

impl From<StoreError> for AppError {
    /// The local disk failing is ours to fix; the bucket not answering is an outage the client may wait out.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Disk(e) => AppError::internal(e),
            StoreError::Bucket(e) => {
                tracing::error!(error = %e, "the media store did not answer");
                AppError::ServiceUnavailable
            }
        }
    }
}

/// A variant's bytes as served: an open file, or the bucket's response streamed through.
pub enum VariantBody {
    File(tokio::fs::File),
    Stream(
        tokio_util::io::StreamReader<
            futures_util::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>,
            bytes::Bytes,
        >,
    ),
}

impl tokio::io::AsyncRead for VariantBody {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::File(file) => std::pin::Pin::new(file).poll_read(cx, buf),
            Self::Stream(stream) => std::pin::Pin::new(stream).poll_read(cx, buf),
        }
    }
}

/// Rocket wants a seekable body to send a `Content-Length`; it seeks only when not told the length, which
/// the media route always gives, so a streamed body refuses to seek.
impl tokio::io::AsyncSeek for VariantBody {
    fn start_seek(self: std::pin::Pin<&mut Self>, position: std::io::SeekFrom) -> std::io::Result<()> {
        match self.get_mut() {
            Self::File(file) => std::pin::Pin::new(file).start_seek(position),
            Self::Stream(_) => Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "a streamed variant cannot seek",
            )),
        }
    }

    fn poll_complete(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<u64>> {
        match self.get_mut() {
            Self::File(file) => std::pin::Pin::new(file).poll_complete(cx),
            Self::Stream(_) => std::task::Poll::Ready(Ok(0)),
        }
    }
}

/// Which directory a stored name lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    Media,
    Quarantine,
}

impl Area {
    /// As logs and events name it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Media => "media",
            Self::Quarantine => "quarantine",
        }
    }

    pub fn from_db(area: &str) -> Self {
        if area == "quarantine" {
            Self::Quarantine
        } else {
            Self::Media
        }
    }
}

impl MediaStore {
    /// Creates both directories (0700) if needed; variants go to `bucket` when there is one.
    pub fn open(media_dir: &Path, quarantine_dir: &Path, bucket: Option<Bucket>) -> anyhow::Result<Self> {
        for dir in [media_dir, quarantine_dir] {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::set_permissions(quarantine_dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict {}", quarantine_dir.display()))?;
        Ok(Self {
            media_dir: media_dir.to_path_buf(),
            quarantine_dir: quarantine_dir.to_path_buf(),
            bucket: bucket.map(std::sync::Arc::new),
        })
    }

    /// Removes partial uploads and half-written variants older than `age`; returns how many.
    pub fn sweep_partials(&self, age: Duration) -> usize {
        let media_temps = list(&self.media_dir)
            .into_iter()
            .filter(|(_, meta)| meta.is_dir())
            .flat_map(|(dir, _)| list(&dir))
            .filter(|(path, _)| file_name(path).starts_with('.'));
        list(&self.quarantine_dir)
            .into_iter()
            .filter(|(path, _)| file_name(path).ends_with(PARTIAL_SUFFIX))
            .chain(media_temps)
            .filter(|(_, meta)| older_than(meta, age))
            .filter(|(path, _)| std::fs::remove_file(path).is_ok())
            .count()
    }

    /// The stored files of an area older than `age`, as keys (`ab/<sha256>.<ext>`, `<media id>`); partial and
    /// temporary files are not listed. A bucket that cannot be listed lists nothing (this time).
    pub async fn settled_keys(&self, area: Area, age: Duration) -> Vec<String> {
        if let (Area::Media, Some(bucket)) = (area, &self.bucket) {
            return bucket.settled_keys(age).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "could not list the media bucket");
                Vec::new()
            });
        }
        let settled = |(path, meta): &(PathBuf, std::fs::Metadata)| {
            meta.is_file()
                && older_than(meta, age)
                && !file_name(path).starts_with('.')
                && !file_name(path).ends_with(PARTIAL_SUFFIX)
        };
        match area {
            Area::Quarantine => list(&self.quarantine_dir)
                .iter()
                .filter(|entry| settled(entry))
                .map(|(path, _)| file_name(path))
                .collect(),
            Area::Media => list(&self.media_dir)
                .into_iter()
                .filter(|(_, meta)| meta.is_dir())
                .flat_map(|(dir, _)| {
                    let prefix = file_name(&dir);
                    list(&dir)
                        .iter()
                        .filter(|entry| settled(entry))
                        .map(|(path, _)| format!("{prefix}/{}", file_name(path)))
                        .collect::<Vec<_>>()
                })
                .collect(),
        }
    }

    /// Whether an area's local disk takes a write again (after one refused for want of space): a 64 KiB file
    /// written, synced and removed. Variants in a bucket need no room here.
    pub async fn probe_space(&self, area: Area) -> std::io::Result<()> {
        if area == Area::Media && self.bucket.is_some() {
            return Ok(());
        }
        let path = self.path(area, &format!(".probe-{}", Uuid::new_v4()));
        tokio::task::spawn_blocking(move || {
            let written = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .and_then(|mut file| file.write_all(&[0; 64 * 1024]).and_then(|()| file.sync_all()));
            let _ = std::fs::remove_file(&path);
            written
        })
        .await
        .map_err(std::io::Error::other)?
    }

    /// A new, private, empty spool file for one incoming part.
    pub fn spool(&self) -> std::io::Result<(Spool, std::fs::File)> {
        let path = self.quarantine_dir.join(format!("{}{PARTIAL_SUFFIX}", Uuid::new_v4()));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        Ok((Spool { path: Some(path) }, file))
    }

    /// A file of the local disk (the quarantine always; variants when there is no bucket).
    pub fn path(&self, area: Area, key: &str) -> PathBuf {
        match area {
            Area::Media => self.media_dir.join(key),
            Area::Quarantine => self.quarantine_dir.join(key),
        }
    }

    /// Keeps a spooled upload in quarantine as `<media id>`.
    pub fn keep_in_quarantine(&self, spool: Spool, id: Uuid) -> std::io::Result<()> {
        let target = self.path(Area::Quarantine, &id.to_string());
        spool.persist(&target)
    }

    /// Writes one variant under its content address; an identical file already there is reused.
    pub async fn write_variant(&self, bytes: &[u8], sha256: &str, extension: &str) -> Result<String, StoreError> {
        let key = Self::key(sha256, extension);
        match &self.bucket {
            Some(bucket) => bucket.put(&key, bytes.to_vec()).await?,
            None => self.write_local_variant(bytes, &key)?,
        }
        Ok(key)
    }

    fn write_local_variant(&self, bytes: &[u8], key: &str) -> std::io::Result<()> {
        let target = self.media_dir.join(key);
        if target.exists() {
            return Ok(());
        }
        let dir = target.parent().unwrap_or(&self.media_dir);
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        let temp = dir.join(format!(".{}.tmp", Uuid::new_v4()));
        let result = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .and_then(|mut file| {
                file.write_all(bytes)?;
                file.sync_all()
            })
            .and_then(|()| std::fs::rename(&temp, &target));
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result
    }

    /// The content address of a variant: `<first 2 hex digits>/<sha256>.<ext>`.
    pub fn key(sha256: &str, extension: &str) -> String {
        format!("{}/{sha256}.{extension}", sha256.get(..2).unwrap_or("00"))
    }

    /// A promoted variant, opened for serving.
    pub async fn open_variant(&self, key: &str) -> Result<VariantBody, StoreError> {
        match &self.bucket {
            Some(bucket) => Ok(VariantBody::Stream(tokio_util::io::StreamReader::new(
                bucket.get(key).await?.into_stream(),
            ))),
            None => Ok(VariantBody::File(
                tokio::fs::File::open(self.path(Area::Media, key)).await?,
            )),
        }
    }

    /// Removes a stored file; a file already gone is fine.
    pub async fn remove(&self, area: Area, key: &str) -> Result<(), StoreError> {
        // Keys come from our own rows, but a key that could leave its directory is never followed.
        if key.contains("..") || key.starts_with('/') {
            return Ok(());
        }
        if let (Area::Media, Some(bucket)) = (area, &self.bucket) {
            return Ok(bucket.delete(key).await?);
        }
        match std::fs::remove_file(self.path(area, key)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

fn list(dir: &Path) -> Vec<(PathBuf, std::fs::Metadata)> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| Some((e.path(), e.metadata().ok()?)))
                .collect()
        })
        .unwrap_or_default()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn older_than(meta: &std::fs::Metadata, age: Duration) -> bool {
    meta.modified()
        .is_ok_and(|t| t.elapsed().is_ok_and(|elapsed| elapsed >= age))
}

/// A spooled part: removed when dropped unless it was kept in quarantine, so no error path leaves one behind.
#[derive(Debug)]
pub struct Spool {
    path: Option<PathBuf>,
}

impl Spool {
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn persist(mut self, target: &Path) -> std::io::Result<()> {
        match self.path.take() {
            Some(path) => std::fs::rename(&path, target).inspect_err(|_| {
                let _ = std::fs::remove_file(&path);
            }),
            None => Ok(()),
        }
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spools_vanish_unless_kept_and_variants_are_content_addressed() {
        let root = std::env::temp_dir().join(format!("homechef-store-{}", Uuid::new_v4()));
        let store =
            MediaStore::open(&root.join("media"), &root.join("quarantine"), None).unwrap_or_else(|e| panic!("{e}"));
        let mode = std::fs::metadata(root.join("quarantine")).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o700));
        let (spool, _file) = store.spool().unwrap_or_else(|e| panic!("{e}"));
        let path = spool.path().map(Path::to_path_buf).unwrap_or_default();
        assert!(path.exists());
        drop(spool);
        assert!(!path.exists(), "dropped spools are removed");
        let (spool, _file) = store.spool().unwrap_or_else(|e| panic!("{e}"));
        let id = Uuid::new_v4();
        assert!(store.keep_in_quarantine(spool, id).is_ok());
        assert!(store.path(Area::Quarantine, &id.to_string()).exists());
        let a = store.write_variant(b"abc", "aa11", "jpg").await.unwrap_or_default();
        assert_eq!(a, "aa/aa11.jpg");
        assert_eq!(store.write_variant(b"abc", "aa11", "jpg").await.ok(), Some(a.clone()));
        assert!(store.remove(Area::Media, &a).await.is_ok());
        assert!(store.remove(Area::Media, &a).await.is_ok(), "removing twice is fine");
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn partials_no_request_can_still_be_writing_are_swept() {
        let root = std::env::temp_dir().join(format!("homechef-sweep-{}", Uuid::new_v4()));
        let store = MediaStore::open(&root.join("m"), &root.join("q"), None).unwrap_or_else(|e| panic!("{e}"));
        let (old, file) = store.spool().unwrap_or_else(|e| panic!("{e}"));
        // Five minutes: past any upload's deadlines (160 s by default), well before the 15 minutes of the rest.
        let five_minutes_ago = std::time::SystemTime::now() - Duration::from_secs(300);
        assert!(file.set_modified(five_minutes_ago).is_ok());
        let old_path = old.path().map(Path::to_path_buf).unwrap_or_default();
        std::mem::forget(old);
        let (fresh, _file) = store.spool().unwrap_or_else(|e| panic!("{e}"));
        let temp = root.join("m").join("ab").join(".0192.tmp");
        assert!(std::fs::create_dir_all(root.join("m").join("ab")).is_ok());
        let temp_file = std::fs::File::create(&temp).and_then(|f| f.set_modified(five_minutes_ago));
        assert!(temp_file.is_ok());
        let lifetime = crate::deadlines::upload_lifetime(Duration::from_secs(30));
        assert_eq!(store.sweep_partials(lifetime), 2);
        assert!(!temp.exists(), "half-written variants go too");
        assert!(!old_path.exists());
        assert!(fresh.path().is_some_and(Path::exists));
        let _ = std::fs::remove_dir_all(root);
    }
}
