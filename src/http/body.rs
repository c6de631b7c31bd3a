//! Request bodies, for every route that reads one: a declared length over the route's cap is refused
//! before any byte is read; the cap is enforced again while streaming (chunked bodies declare nothing);
//! reading has a deadline (`REQUEST_BODY_TIMEOUT_SECS`). And a request refused early (415, 429) has its
//! body drained, within the same cap and deadline, before the answer goes out: a server that answers and
//! closes while the client is still sending resets the connection, and clients such as Node's fetch then
//! report `EPIPE` and never see the status or `Retry-After`.

use std::time::Duration;

use rocket::data::{Data, ToByteUnit as _};
use rocket::Request;

use crate::error::AppError;

/// `PAYLOAD_TOO_LARGE` when the request declares more than `cap` bytes.
pub fn check_declared(req: &Request<'_>, cap: u64) -> Result<(), AppError> {
    let declared = req
        .headers()
        .get_one("Content-Length")
        .and_then(|value| value.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > cap => Err(AppError::PayloadTooLarge { limit_bytes: cap }),
        _ => Ok(()),
    }
}

/// The whole body, at most `cap` bytes, within `deadline`.
pub async fn read(req: &Request<'_>, data: Data<'_>, cap: u64, deadline: Duration) -> Result<Vec<u8>, AppError> {
    check_declared(req, cap)?;
    // We stop reading at cap + 1 bytes: one more than allowed tells us it was too large.
    let read = tokio::time::timeout(deadline, data.open((cap + 1).bytes()).into_bytes()).await;
    match read {
        Err(_) => Err(AppError::RequestTimeout),
        Ok(Err(_)) => Err(AppError::BadRequest("could not read the request body".into())),
        Ok(Ok(body)) if body.value.len() as u64 > cap => Err(AppError::PayloadTooLarge { limit_bytes: cap }),
        Ok(Ok(body)) => Ok(body.into_inner()),
    }
}

/// Reads and discards the body of a refused request (at most `cap` bytes, within `deadline`), so that
/// the refusal reaches the client. A body declared larger than `cap` is not drained at all.
pub async fn drain(req: &Request<'_>, data: Data<'_>, cap: u64, deadline: Duration) {
    if check_declared(req, cap).is_ok() {
        let sink = data.open(cap.bytes()).stream_to(tokio::io::sink());
        let _ = tokio::time::timeout(deadline, sink).await;
    }
}
