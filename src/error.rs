//! The one error type resolvers and services return, and the stable codes clients see in
//! `extensions.code`. Internal causes are logged once, here, and never shown to the client.
//!
//! Resolvers return `async_graphql::Result<T>` and convert with `async_graphql::ResultExt::extend()` (an
//! `AppResult`) or `GqlResult::gql()` (a model-layer `QueryResult`): a bare `?` would go through async-graphql's
//! blanket `Display` conversion and drop the code, or leak SQL text.

use async_graphql::ErrorExtensions;

/// Result of a resolver or service.
pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No valid credentials: "authentication required".
    #[error("authentication required")]
    Unauthenticated,
    /// Signed in, but not allowed: "access denied".
    #[error("access denied")]
    Forbidden,
    /// The object does not exist or belongs to someone else: "not found".
    #[error("not found")]
    NotFound,
    /// An input value is invalid; `field` names it (GraphQL argument path).
    #[error("{message}")]
    BadUserInput { field: String, message: String },
    /// The request itself is malformed (bad JSON, batch, missing query).
    #[error("{0}")]
    BadRequest(String),
    /// The body's content type is not one we accept; the message says what to send.
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    /// A write conflicts with the current state (stale version, duplicate name).
    #[error("{0}")]
    Conflict(String),
    /// An `Idempotency-Key` that already answered a different request.
    #[error("this Idempotency-Key was already used for a different request; use a new key for a new request")]
    IdempotencyKeyReused,
    /// Too many requests; retry after the given number of seconds.
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// A per-user quota is used up.
    #[error("{0}")]
    QuotaExceeded(String),
    /// The body or a file is larger than allowed.
    #[error("payload too large (limit {limit_bytes} bytes)")]
    PayloadTooLarge { limit_bytes: u64 },
    /// An uploaded file was refused by the scanner.
    #[error("{0}")]
    UploadRejected(String),
    /// The GraphQL document exceeds a limit; `limit` names which (`extensions.limit`).
    #[error("{message}")]
    QueryLimit { limit: &'static str, message: String },
    /// Introspection was asked for where it is disabled (production).
    #[error("introspection is disabled")]
    IntrospectionDisabled,
    /// The request body did not arrive within the deadline.
    #[error("request body not received in time")]
    RequestTimeout,
    /// Execution ran past its deadline.
    #[error("the operation took too long and was cancelled")]
    ExecutionTimeout,
    /// An import's address is not on the public internet (or not http(s) on port 80 or 443).
    #[error("this address cannot be imported from")]
    ImportBlockedAddress,
    /// The page did not arrive within the import deadline.
    #[error("the page took too long to arrive")]
    ImportTimeout,
    /// The page is larger than an import reads.
    #[error("the page is too large to import")]
    ImportTooLarge,
    /// The page's server answered with an error, or could not be reached.
    #[error("{0}")]
    UpstreamHttpError(String),
    /// An import found no recipe in what it was given.
    #[error("{0}")]
    ImportNoRecipeData(&'static str),
    /// A dependency (database, key server) is unreachable: "service temporarily unavailable".
    #[error("service temporarily unavailable")]
    ServiceUnavailable,
    /// This instance's disk has no room for an upload (quarantine or media directory): retry later.
    #[error("the server has no room to store files right now; retry later")]
    StorageFull,
    /// Anything else: the client sees only "internal server error"; the cause is logged.
    #[error("internal server error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    /// The stable machine-readable code (`extensions.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadUserInput { .. } => "BAD_USER_INPUT",
            Self::BadRequest(_) => "BAD_REQUEST",
            Self::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            Self::Conflict(_) => "CONFLICT",
            Self::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::QuotaExceeded(_) => "QUOTA_EXCEEDED",
            Self::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            Self::UploadRejected(_) => "UPLOAD_REJECTED",
            Self::QueryLimit { .. } => "QUERY_LIMIT_EXCEEDED",
            Self::IntrospectionDisabled => "INTROSPECTION_DISABLED",
            Self::RequestTimeout => "REQUEST_TIMEOUT",
            Self::ExecutionTimeout => "EXECUTION_TIMEOUT",
            Self::ImportNoRecipeData(_) => "IMPORT_NO_RECIPE_DATA",
            Self::ImportBlockedAddress => "IMPORT_BLOCKED_ADDRESS",
            Self::ImportTimeout => "IMPORT_TIMEOUT",
            Self::ImportTooLarge => "IMPORT_TOO_LARGE",
            Self::UpstreamHttpError(_) => "UPSTREAM_HTTP_ERROR",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::StorageFull => "STORAGE_FULL",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// The HTTP status used when the error ends a request before GraphQL execution.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Unauthenticated => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::BadUserInput { .. } | Self::BadRequest(_) => 400,
            Self::UnsupportedMediaType(_) => 415,
            Self::Conflict(_) => 409,
            Self::IdempotencyKeyReused => 422,
            Self::RateLimited { .. } => 429,
            Self::QuotaExceeded(_) => 403,
            Self::PayloadTooLarge { .. } => 413,
            Self::UploadRejected(_) | Self::ImportNoRecipeData(_) | Self::ImportBlockedAddress => 422,
            Self::ImportTooLarge => 413,
            Self::ImportTimeout | Self::UpstreamHttpError(_) => 502,
            Self::QueryLimit { .. } | Self::IntrospectionDisabled => 400,
            Self::RequestTimeout => 408,
            Self::ExecutionTimeout | Self::ServiceUnavailable => 503,
            Self::StorageFull => 507,
            Self::Internal(_) => 500,
        }
    }

    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Wraps an internal cause (database, I/O) that the client must not see.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self::Internal(cause.into())
    }

    /// The GraphQL-shaped JSON body used for errors outside GraphQL execution (catchers, body guard).
    pub fn to_json(&self) -> serde_json::Value {
        let error = self.extend();
        serde_json::json!({ "errors": [{ "message": error.message, "extensions": error.extensions }] })
    }
}

/// A deletion's answer: `true` when something was deleted, `NOT_FOUND` when the viewer owns nothing with that
/// id (the same answer as for someone else's).
pub fn deleted(found: bool) -> async_graphql::Result<bool> {
    if found {
        Ok(true)
    } else {
        Err(AppError::NotFound.extend())
    }
}

/// A model-layer result (diesel, the pool) as a resolver result carrying its stable code:
/// `Recipe::find(..).await.gql()?` instead of `.gql()?`.
pub trait GqlResult<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T, E: Into<AppError>> GqlResult<T> for Result<T, E> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.into().extend())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => Self::NotFound,
            fault if is_transient(&fault) => {
                tracing::warn!(error = %fault, "database unavailable");
                Self::ServiceUnavailable
            }
            other => Self::internal(other),
        }
    }
}

/// PostgreSQL's messages for faults that a later attempt can get past: the connection was cut (restart,
/// failover, `pg_terminate_backend`), the server is starting or stopping, a statement ran past
/// `statement_timeout`, or concurrent transactions collided. diesel gives these kinds no `DatabaseErrorKind`
/// of their own (`Unknown`, with the server's message), so they are recognised by message.
const TRANSIENT_MESSAGES: &[&str] = &[
    "terminating connection",
    "the database system is",
    "canceling statement due to",
    "deadlock detected",
    "could not serialize access",
    "server closed the connection",
    "connection closed",
];

/// Whether a database error means "unavailable for now" (retry later) rather than a bug.
pub fn is_transient(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match error {
        Error::BrokenTransactionManager => true,
        Error::DatabaseError(kind, info) => match kind {
            DatabaseErrorKind::ClosedConnection
            | DatabaseErrorKind::UnableToSendCommand
            | DatabaseErrorKind::SerializationFailure => true,
            _ => TRANSIENT_MESSAGES.iter().any(|m| info.message().contains(m)),
        },
        _ => false,
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        tracing::warn!(error = %e, "database pool unavailable");
        Self::ServiceUnavailable
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        if let Self::Internal(cause) = self {
            // Logged once, at the boundary; the request span carries the request id.
            tracing::error!(error = ?cause, "internal error");
        }
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                Self::BadUserInput { field, .. } => ext.set("field", field.as_str()),
                Self::RateLimited { retry_after_secs } => ext.set("retryAfter", *retry_after_secs),
                Self::PayloadTooLarge { limit_bytes } => ext.set("limitBytes", *limit_bytes),
                Self::QueryLimit { limit, .. } => ext.set("limit", *limit),
                _ => {}
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(e: AppError) -> serde_json::Value {
        e.to_json()
    }

    #[test]
    fn every_code_has_a_pinned_json_shape() {
        let cases = [
            (
                AppError::Unauthenticated,
                json!({"message": "authentication required", "extensions": {"code": "UNAUTHENTICATED"}}),
            ),
            (
                AppError::Forbidden,
                json!({"message": "access denied", "extensions": {"code": "FORBIDDEN"}}),
            ),
            (
                AppError::NotFound,
                json!({"message": "not found", "extensions": {"code": "NOT_FOUND"}}),
            ),
            (
                AppError::bad_input("input.title", "title must be 1 to 200 characters"),
                json!({"message": "title must be 1 to 200 characters", "extensions": {"code": "BAD_USER_INPUT", "field": "input.title"}}),
            ),
            (
                AppError::BadRequest("malformed JSON body".into()),
                json!({"message": "malformed JSON body", "extensions": {"code": "BAD_REQUEST"}}),
            ),
            (
                AppError::UnsupportedMediaType("unsupported content type; send application/json"),
                json!({"message": "unsupported content type; send application/json", "extensions": {"code": "UNSUPPORTED_MEDIA_TYPE"}}),
            ),
            (
                AppError::Conflict("stale version".into()),
                json!({"message": "stale version", "extensions": {"code": "CONFLICT"}}),
            ),
            (
                AppError::IdempotencyKeyReused,
                json!({"message": "this Idempotency-Key was already used for a different request; use a new key for a new request", "extensions": {"code": "IDEMPOTENCY_KEY_REUSED"}}),
            ),
            (
                AppError::RateLimited { retry_after_secs: 7 },
                json!({"message": "too many requests; retry in 7 s", "extensions": {"code": "RATE_LIMITED", "retryAfter": 7}}),
            ),
            (
                AppError::QuotaExceeded("quota used up".into()),
                json!({"message": "quota used up", "extensions": {"code": "QUOTA_EXCEEDED"}}),
            ),
            (
                AppError::PayloadTooLarge { limit_bytes: 65536 },
                json!({"message": "payload too large (limit 65536 bytes)", "extensions": {"code": "PAYLOAD_TOO_LARGE", "limitBytes": 65536}}),
            ),
            (
                AppError::UploadRejected("not an image".into()),
                json!({"message": "not an image", "extensions": {"code": "UPLOAD_REJECTED"}}),
            ),
            (
                AppError::QueryLimit {
                    limit: "aliases",
                    message: "too many aliases (limit 15)".into(),
                },
                json!({"message": "too many aliases (limit 15)", "extensions": {"code": "QUERY_LIMIT_EXCEEDED", "limit": "aliases"}}),
            ),
            (
                AppError::IntrospectionDisabled,
                json!({"message": "introspection is disabled", "extensions": {"code": "INTROSPECTION_DISABLED"}}),
            ),
            (
                AppError::RequestTimeout,
                json!({"message": "request body not received in time", "extensions": {"code": "REQUEST_TIMEOUT"}}),
            ),
            (
                AppError::ExecutionTimeout,
                json!({"message": "the operation took too long and was cancelled", "extensions": {"code": "EXECUTION_TIMEOUT"}}),
            ),
            (
                AppError::ServiceUnavailable,
                json!({"message": "service temporarily unavailable", "extensions": {"code": "SERVICE_UNAVAILABLE"}}),
            ),
            (
                AppError::StorageFull,
                json!({"message": "the server has no room to store files right now; retry later", "extensions": {"code": "STORAGE_FULL"}}),
            ),
            (
                AppError::internal(anyhow::anyhow!("relation \"users\" does not exist")),
                json!({"message": "internal server error", "extensions": {"code": "INTERNAL"}}),
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(body(error), json!({ "errors": [expected] }));
        }
    }

    #[test]
    fn diesel_not_found_maps_to_not_found_and_other_errors_hide_their_text() {
        assert_eq!(AppError::from(diesel::result::Error::NotFound).code(), "NOT_FOUND");
        let hidden = AppError::from(diesel::result::Error::QueryBuilderError("no columns".into()));
        assert_eq!(hidden.code(), "INTERNAL");
        assert_eq!(hidden.to_string(), "internal server error");
    }

    #[test]
    fn connection_faults_are_unavailability_not_bugs() {
        use diesel::result::{DatabaseErrorKind, Error};
        let db = |kind, message: &str| Error::DatabaseError(kind, Box::new(message.to_owned()));
        let transient = [
            db(DatabaseErrorKind::ClosedConnection, "connection closed"),
            db(
                DatabaseErrorKind::UnableToSendCommand,
                "error communicating with the server",
            ),
            db(DatabaseErrorKind::SerializationFailure, "could not serialize access"),
            db(
                DatabaseErrorKind::Unknown,
                "terminating connection due to administrator command",
            ),
            db(DatabaseErrorKind::Unknown, "the database system is shutting down"),
            db(
                DatabaseErrorKind::Unknown,
                "canceling statement due to statement timeout",
            ),
            db(DatabaseErrorKind::Unknown, "deadlock detected"),
            Error::BrokenTransactionManager,
        ];
        for fault in transient {
            let text = fault.to_string();
            let error = AppError::from(fault);
            assert_eq!(error.code(), "SERVICE_UNAVAILABLE", "{text}");
            assert_eq!(error.http_status(), 503);
        }
        let bug = AppError::from(db(DatabaseErrorKind::Unknown, "relation \"x\" does not exist"));
        assert_eq!(bug.code(), "INTERNAL");
        let conflict = AppError::from(db(DatabaseErrorKind::UniqueViolation, "duplicate key"));
        assert_eq!(
            conflict.code(),
            "INTERNAL",
            "mapped to CONFLICT by the model, where the meaning is known"
        );
    }
}
