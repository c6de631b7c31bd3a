//! Recipe images: every upload streams into quarantine, is scanned and scored, and only re-encoded copies of
//! safe files are promoted to the content-addressed media store; admins review what stays in quarantine.
//!
//! `scan` (magic bytes, names, signatures, score) and `process` (bounded decode, re-encode) are pure;
//! `store` owns the two areas (directories, or a bucket for variants: `bucket`); `service` runs the pipeline;
//! `clamd` talks to ClamAV; `urls` signs links to non-public images.

pub mod bucket;
pub mod clamd;
mod graphql;
mod housekeeping;
pub mod model;
pub mod process;
pub mod scan;
mod screening;
mod service;
pub mod store;
pub mod urls;

pub use graphql::{
    spooled_part, upload_files, HeldImage, ImageView, MediaMutation, MediaQuery, UploadResult, MAX_FILES,
};
pub use model::{Media, StoredImage};
pub use service::{MediaService, Quotas, SpooledFile, SpooledFiles, StreamingDigest, UPLOAD_LOG};
