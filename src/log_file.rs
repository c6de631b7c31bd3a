//! An append-only JSON-lines file under `LOG_DIR` (mode 0600), rotated by size: `x.log` → `x.log.1` → … →
//! `x.log.N` (dropped). Shared by `security_events.log` and `file_uploads.log`.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context as _;
use serde::Serialize;

/// A file is rotated past this size; `ROTATED_FILES` older files are kept (`.1` newest).
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
pub const ROTATED_FILES: usize = 5;

pub struct LogFile {
    path: PathBuf,
    max_bytes: u64,
    file: Mutex<File>,
}

impl LogFile {
    pub fn open(log_dir: &Path, name: &str, max_bytes: u64) -> anyhow::Result<Self> {
        std::fs::create_dir_all(log_dir).with_context(|| format!("cannot create LOG_DIR {}", log_dir.display()))?;
        let path = log_dir.join(name);
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

    /// Appends one line; a failure is reported to the tracing log, never to the caller's client.
    pub fn append(&self, line: &impl Serialize) {
        let Ok(mut text) = serde_json::to_string(line) else {
            return;
        };
        text.push('\n');
        let Ok(mut file) = self.file.lock() else {
            return;
        };
        if file.write_all(text.as_bytes()).is_err() {
            tracing::error!(path = %self.path.display(), "could not write a log file");
        }
        if file.metadata().is_ok_and(|m| m.len() > self.max_bytes) {
            match self.rotate() {
                Ok(fresh) => *file = fresh,
                Err(e) => tracing::error!(path = %self.path.display(), error = %e, "could not rotate a log file"),
            }
        }
    }

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
