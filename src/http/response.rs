//! JSON responses outside GraphQL execution: errors (catchers, body guard, auth) and health probes.

use rocket::http::{ContentType, Header, Status};
use rocket::response::{self, Responder, Response};
use rocket::Request;

use crate::error::AppError;

/// What `Retry-After` says when a dependency is unavailable: long enough for a restart or failover of the
/// database to be noticed, short enough that a client resumes quickly.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;

/// What `Retry-After` says when the disk is full: room is made by an operator or by clean-up, not in seconds.
pub const STORAGE_FULL_RETRY_AFTER_SECS: u64 = 60;

/// Whether an `If-None-Match` header holds `etag`: RFC 9110's weak comparison (`W/` ignored on either side)
/// over its comma-separated tags, and `*` for any current representation.
pub fn held(if_none_match: Option<&str>, etag: &str) -> bool {
    let etag = etag.trim_start_matches("W/");
    if_none_match.is_some_and(|tags| {
        tags.split(',')
            .map(|tag| tag.trim().trim_start_matches("W/"))
            .any(|tag| tag == etag || tag == "*")
    })
}

/// A JSON body with a status and optional extra headers.
pub struct JsonResponse {
    status: Status,
    body: serde_json::Value,
    headers: Vec<Header<'static>>,
}

impl JsonResponse {
    pub fn new(status: Status, body: serde_json::Value) -> Self {
        Self {
            status,
            body,
            headers: Vec::new(),
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push(Header::new(name, value.into()));
        self
    }

    /// A GraphQL-shaped error body: `{"errors":[{"message", "extensions":{"code"}}]}`.
    pub fn error(status: Status, code: &str, message: &str) -> Self {
        Self::new(
            status,
            serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] }),
        )
    }
}

impl From<AppError> for JsonResponse {
    fn from(error: AppError) -> Self {
        let status = Status::from_code(error.http_status()).unwrap_or(Status::InternalServerError);
        let response = Self::new(status, error.to_json());
        match error {
            AppError::Unauthenticated => response.header("WWW-Authenticate", r#"Bearer error="invalid_token""#),
            // The rest of the body will not be read: the connection cannot carry another request.
            AppError::PayloadTooLarge { .. } => response.header("Connection", "close"),
            AppError::RateLimited { retry_after_secs } => {
                response.header("Retry-After", retry_after_secs.max(1).to_string())
            }
            AppError::ServiceUnavailable => response.header("Retry-After", UNAVAILABLE_RETRY_AFTER_SECS.to_string()),
            AppError::StorageFull => response.header("Retry-After", STORAGE_FULL_RETRY_AFTER_SECS.to_string()),
            _ => response,
        }
    }
}

impl<'r> Responder<'r, 'static> for JsonResponse {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let body = self.body.to_string();
        let mut response = Response::build();
        response
            .status(self.status)
            .header(ContentType::JSON)
            .sized_body(body.len(), std::io::Cursor::new(body));
        for header in self.headers {
            response.header(header);
        }
        response.ok()
    }
}

/// Every error Rocket itself produces (no route, bad method, guard failure) is JSON too, without internals.
#[rocket::catch(default)]
pub fn default_catcher(status: Status, _: &Request<'_>) -> JsonResponse {
    let code = match status.code {
        401 => "UNAUTHENTICATED",
        403 => "FORBIDDEN",
        404 => "NOT_FOUND",
        405 => "METHOD_NOT_ALLOWED",
        408 => "REQUEST_TIMEOUT",
        413 => "PAYLOAD_TOO_LARGE",
        415 => "UNSUPPORTED_MEDIA_TYPE",
        429 => "RATE_LIMITED",
        503 => "SERVICE_UNAVAILABLE",
        400..=499 => "BAD_REQUEST",
        _ => "INTERNAL",
    };
    let message = if status.code >= 500 && status.code != 503 {
        "internal server error".to_owned()
    } else {
        status.reason_lossy().to_lowercase()
    };
    JsonResponse::error(status, code, &message)
}
