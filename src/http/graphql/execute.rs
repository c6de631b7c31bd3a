//! Stage 3 of the GraphQL pipeline: execution. An admitted operation runs as its viewer (tokens verified,
//! failures counted), within its deadline and the server's stop deadline; a mutation with an
//! `Idempotency-Key` runs as one transaction that stores its answer, a query that meets a database fault runs
//! once more. The output, [`Answer`], is what the reply sends.

use rocket::http::Status;
use serde_json::json;
use tracing::Instrument as _;

use super::admit::{Admitted, Idempotent};
use super::gateway::Gateway;
use crate::auth::{bearer_token, AuthError, Viewer, ViewerError};
use crate::config::SHUTDOWN_GRACE_SECS;
use crate::db::RequestConnection;
use crate::deadlines::{EXECUTION_TIMEOUT, UPLOAD_EXECUTION_TIMEOUT};
use crate::error::AppError;
use crate::graphql::refusals;
use crate::http::response::{JsonResponse, STORAGE_FULL_RETRY_AFTER_SECS, UNAVAILABLE_RETRY_AFTER_SECS};
use crate::idempotency::{self, Claim};
use crate::media::SpooledFiles;
use crate::security_log::{fingerprint, Severity};

/// What an operation produced.
pub enum Answer {
    Executed(async_graphql::Response),
    /// An idempotent request's response as stored: sent the same, byte for byte, the first time and on every
    /// replay (`Idempotent-Replayed: true`).
    Kept {
        status: u16,
        body: String,
        replayed: bool,
    },
}

/// No `data` and only errors without a path: nothing was executed.
pub(super) fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// Executes an admitted operation under the stop deadline, counting its SQL statements, in a span with the
/// request id.
pub(super) async fn execute(gw: &Gateway<'_>, admitted: Admitted<'_>) -> Result<Answer, JsonResponse> {
    let span = tracing::info_span!("graphql", request_id = %gw.ctx.id);
    let ran = crate::db::count_statements(run(gw, admitted, span));
    let (result, statements) = tokio::select! {
        biased;
        ran = ran => ran,
        // Dropped unfinished, the operation's connection is not reused: its transaction rolls back.
        () = stop_deadline(gw.shutdown.clone()) => (Err(stopping()), 0),
    };
    gw.ctx.set_sql_statements(statements);
    result
}

/// Resolves a second before the stop signal's grace ends: an operation still running then is answered
/// while its connection can still carry the answer (Rocket closes every connection when the grace ends).
async fn stop_deadline(shutdown: rocket::Shutdown) {
    shutdown.await;
    tokio::time::sleep(std::time::Duration::from_secs(
        u64::from(SHUTDOWN_GRACE_SECS).saturating_sub(1),
    ))
    .await;
}

/// The answer of an operation cut short by a stop: 503, retry (on another instance, or this one restarted).
fn stopping() -> JsonResponse {
    JsonResponse::from(AppError::ServiceUnavailable).header("Connection", "close")
}

/// The viewer, then the operation under its deadline; SQL statements are counted around this. A mutation
/// with an `Idempotency-Key` runs as one transaction that also stores its response; a query that meets a
/// database fault runs once more, on another connection, within the same deadline; a fault that persists is
/// answered 503 with `Retry-After`.
async fn run(gw: &Gateway<'_>, admitted: Admitted<'_>, span: tracing::Span) -> Result<Answer, JsonResponse> {
    let Admitted {
        schema,
        request,
        files,
        imports,
        idempotent,
        retry,
    } = admitted;
    let viewer = resolve_viewer(gw).instrument(span.clone()).await?;
    let user = match &viewer {
        Viewer::User(user) => Some(user.id),
        Viewer::Anonymous => None,
    };
    let user_id = user.map(|id| id.to_string());
    if let (Some(class), Some(user)) = (imports, user) {
        if let Err(limited) = gw.limits.import_by(user, class).await {
            return Err(limited.respond(gw.log, &gw.meta, user_id.as_deref()));
        }
    }
    let deadline = if files.is_empty() {
        EXECUTION_TIMEOUT
    } else {
        if let Some(user) = user {
            if let Err(limited) = gw.limits.upload_by(user).await {
                return Err(limited.respond(gw.log, &gw.meta, user_id.as_deref()));
            }
        }
        UPLOAD_EXECUTION_TIMEOUT
    };
    let transaction = match (&idempotent, user) {
        (Some(idempotent), Some(user)) => match claim(gw, user, idempotent).await? {
            Claimed::Run(transaction) => Some(transaction),
            Claimed::Answered(answer) => return Ok(*answer),
        },
        _ => None,
    };
    let expires = tokio::time::Instant::now() + deadline;
    let prepare = |request: async_graphql::Request, files, connection: RequestConnection| {
        request
            .data::<Viewer>(viewer.clone())
            .data(gw.meta.clone())
            .data(SpooledFiles::new(files))
            .data(connection)
    };
    let mut connection = transaction.clone().unwrap_or_else(|| RequestConnection::new(gw.pool));
    let mut executed = tokio::time::timeout_at(expires, schema.execute(prepare(request, files, connection.clone())))
        .instrument(span.clone())
        .await;
    if let (Some(retry), Ok(response)) = (retry, &executed) {
        if has_code(response, "SERVICE_UNAVAILABLE") {
            tracing::info!(parent: &span, "database fault; running the query once more");
            // The connection failed: closed, never handed to another request.
            std::mem::replace(&mut connection, RequestConnection::new(gw.pool)).abandon();
            let request = prepare(retry.into_request(), Vec::new(), connection.clone());
            executed = tokio::time::timeout_at(expires, schema.execute(request))
                .instrument(span)
                .await;
        }
    }
    let Ok(mut response) = executed else {
        drop(transaction);
        connection.abandon();
        gw.log.record(
            "limit_violation",
            Severity::Medium,
            &gw.meta,
            user_id.as_deref(),
            json!({ "limit": "execution_time" }),
        );
        return Err(AppError::ExecutionTimeout.into());
    };
    let hit = refusals::code_errors(&mut response);
    for limit in &hit {
        gw.log.record(
            "limit_violation",
            Severity::Medium,
            &gw.meta,
            user_id.as_deref(),
            json!({ "limit": limit }),
        );
    }
    if !hit.is_empty() {
        if let Some(transaction) = transaction {
            transaction.rollback().await;
        }
        // A schema limit is refused like the document limits checked before it: 400, same shape.
        let body = serde_json::to_value(&response.errors).unwrap_or_default();
        return Err(JsonResponse::new(Status::BadRequest, json!({ "errors": body })));
    }
    let failed = has_code(&response, "SERVICE_UNAVAILABLE");
    let answer = match (transaction, idempotent, user) {
        (Some(transaction), Some(idempotent), Some(user)) => keep(gw, transaction, user, &idempotent, response).await,
        _ => answer(response),
    };
    if failed {
        connection.abandon();
    }
    answer
}

/// An executed operation's answer: 503 with `Retry-After` when the database could not be reached, 507 with
/// `Retry-After` when the disk had no room for its files (the body is the GraphQL response, with whatever
/// data was read).
fn answer(response: async_graphql::Response) -> Result<Answer, JsonResponse> {
    let (status, retry_after) = if has_code(&response, "SERVICE_UNAVAILABLE") {
        (Status::ServiceUnavailable, UNAVAILABLE_RETRY_AFTER_SECS)
    } else if has_code(&response, "STORAGE_FULL") {
        (Status::InsufficientStorage, STORAGE_FULL_RETRY_AFTER_SECS)
    } else {
        return Ok(Answer::Executed(response));
    };
    let body = serde_json::to_value(&response).unwrap_or_default();
    Err(JsonResponse::new(status, body).header("Retry-After", retry_after.to_string()))
}

fn has_code(response: &async_graphql::Response, code: &str) -> bool {
    response.errors.iter().any(|error| {
        error
            .extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .is_some_and(|c| *c == async_graphql::Value::from(code))
    })
}

/// A claimed key: run the mutation in this transaction, or answer at once.
enum Claimed {
    Run(RequestConnection),
    Answered(Box<Answer>),
}

/// Opens the request's transaction and claims its key in it.
async fn claim(gw: &Gateway<'_>, user: uuid::Uuid, idempotent: &Idempotent) -> Result<Claimed, JsonResponse> {
    let transaction = RequestConnection::begin(gw.pool).await?;
    let claim = transaction
        .run(async |conn| idempotency::claim(conn, user, &idempotent.key, &idempotent.hash).await)
        .await;
    let answered = match claim {
        Ok(Claim::Fresh) => return Ok(Claimed::Run(transaction)),
        Ok(Claim::Replay { status, body }) => Ok(Claimed::Answered(Box::new(Answer::Kept {
            status,
            body,
            replayed: true,
        }))),
        Ok(Claim::Reused) => Err(AppError::IdempotencyKeyReused.into()),
        Ok(Claim::Busy) => Err(JsonResponse::from(AppError::Conflict(
            "a request with this Idempotency-Key is still in progress; retry shortly".into(),
        ))
        .header("Retry-After", "1")),
        Err(e) => Err(e.into()),
    };
    transaction.rollback().await;
    answered
}

/// Commits an idempotent mutation with its response, or rolls it back when the response is not one to
/// repeat (a fault, an internal error, a request error): the client will send it again and it runs again.
async fn keep(
    gw: &Gateway<'_>,
    transaction: RequestConnection,
    user: uuid::Uuid,
    idempotent: &Idempotent,
    response: async_graphql::Response,
) -> Result<Answer, JsonResponse> {
    let fault = ["SERVICE_UNAVAILABLE", "STORAGE_FULL", "INTERNAL"];
    if is_request_error(&response) || fault.iter().any(|code| has_code(&response, code)) {
        transaction.rollback().await;
        return answer(response);
    }
    let body = serde_json::to_string(&response).map_err(AppError::internal)?;
    let status = Status::Ok.code;
    let stored = transaction
        .run(async |conn| idempotency::store(conn, user, &idempotent.key, &idempotent.hash, status, &body).await)
        .await;
    if let Err(e) = stored {
        transaction.rollback().await;
        return Err(e.into());
    }
    transaction.close(true).await?;
    // Files of what the mutation deleted, now that the deletion has committed.
    if let Ok(mut conn) = transaction.lock().await {
        gw.media.collect_garbage(&mut conn).await;
    }
    Ok(Answer::Kept {
        status,
        body,
        replayed: false,
    })
}

/// Authenticated requests only: an address over its failure allowance gets 429 before any verification.
async fn resolve_viewer(gw: &Gateway<'_>) -> Result<Viewer, JsonResponse> {
    let authorization = gw.authorization.as_deref();
    if authorization.is_some() {
        if let Err(limited) = gw.limits.auth_allowed(gw.client_ip).await {
            return Err(limited.respond(gw.log, &gw.meta, None));
        }
    }
    match gw.authenticator.viewer(authorization, gw.pool).await {
        Ok(viewer) => Ok(viewer),
        Err(ViewerError::Auth(AuthError::KeysUnavailable(reason))) => {
            tracing::error!(%reason, "cannot verify tokens: signing keys unavailable");
            Err(AppError::ServiceUnavailable.into())
        }
        Err(ViewerError::Auth(reason)) => {
            // A stale token counts against its subject, anything else against the address.
            if let AuthError::Expired { subject } = &reason {
                if let Err(limited) = gw.limits.stale_token_allowed(subject).await {
                    return Err(limited.respond(gw.log, &gw.meta, None));
                }
                gw.limits.stale_token_failed(subject).await;
            } else {
                gw.limits.auth_failed(gw.client_ip).await;
            }
            let token = authorization.and_then(bearer_token).map(fingerprint);
            gw.event(
                "auth_failure",
                Severity::Medium,
                json!({ "reason": reason.to_string(), "token_fingerprint": token }),
            );
            Err(AppError::Unauthenticated.into())
        }
        Err(ViewerError::App(e)) => Err(JsonResponse::from(e)),
    }
}
