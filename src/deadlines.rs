//! How long work may take, at the ground floor: the GraphQL endpoint enforces these, the database makes its
//! sessions give up at them, and the upload store knows from them which partial files no request can still
//! be writing.

use std::time::Duration;

/// Longest an operation may run.
pub const EXECUTION_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest an operation with files may run: each file is scanned, decoded and re-encoded.
pub const UPLOAD_EXECUTION_TIMEOUT: Duration = Duration::from_secs(120);

/// Longest an upload's files can be in use: its body read (`body_timeout`), then its operation. A partial
/// file older than this belongs to no live request (a crash's left-over) and can go at once.
pub fn upload_lifetime(body_timeout: Duration) -> Duration {
    body_timeout + UPLOAD_EXECUTION_TIMEOUT + Duration::from_secs(10)
}
