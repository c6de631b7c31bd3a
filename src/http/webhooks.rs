//! `POST /webhooks/clerk`: Svix-signed Clerk user events.

use rocket::data::{Data, FromData};
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome};
use rocket::{Request, State};
use serde_json::json;

use super::rate_limit::{RouteLimit, WebhookQuota};
use super::response::JsonResponse;
use crate::auth::svix::SvixVerifier;
use crate::auth::Authenticator;
use crate::config::AppConfig;
use crate::db::DbPool;
use crate::error::AppError;
use crate::security_log::{RequestMeta, SecurityLog, Severity};
use crate::users::service::{apply_clerk_event, ClerkEvent, WebhookOutcome};

/// Clerk's user payloads are a few KiB; anything this large is not from Clerk.
const MAX_WEBHOOK_BODY: u64 = 256 * 1024;

/// The configured webhook secret, if any.
pub struct ClerkWebhook(pub Option<SvixVerifier>);

pub struct SvixHeaders {
    id: String,
    timestamp: String,
    signature: String,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SvixHeaders {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let get = |name| req.headers().get_one(name).unwrap_or_default().to_owned();
        Outcome::Success(Self {
            id: get("svix-id"),
            timestamp: get("svix-timestamp"),
            signature: get("svix-signature"),
        })
    }
}

/// The body, read under the cap and the deadline (or why it could not be).
pub struct WebhookBody(Result<Vec<u8>, AppError>);

#[rocket::async_trait]
impl<'r> FromData<'r> for WebhookBody {
    type Error = std::convert::Infallible;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> rocket::data::Outcome<'r, Self> {
        let deadline = req
            .rocket()
            .state::<AppConfig>()
            .map_or(std::time::Duration::from_secs(10), |c| c.body_timeout);
        rocket::data::Outcome::Success(Self(super::body::read(req, data, MAX_WEBHOOK_BODY, deadline).await))
    }
}

#[rocket::post("/webhooks/clerk", data = "<body>")]
#[expect(clippy::too_many_arguments, reason = "Rocket guards are arguments")]
pub async fn clerk(
    limit: RouteLimit<WebhookQuota>,
    webhook: &State<ClerkWebhook>,
    pool: &State<DbPool>,
    authenticator: &State<Authenticator>,
    security_log: &State<SecurityLog>,
    meta: RequestMeta,
    headers: SvixHeaders,
    body: WebhookBody,
) -> JsonResponse {
    if let Err(limited) = limit.0 {
        return limited.respond(security_log, &meta, None);
    }
    let Some(verifier) = &webhook.0 else {
        return JsonResponse::error(
            Status::ServiceUnavailable,
            "SERVICE_UNAVAILABLE",
            "webhooks are not configured",
        );
    };
    let body = match body.0 {
        Ok(body) => body,
        Err(e) => return e.into(),
    };
    let now = chrono::Utc::now().timestamp();
    if let Err(reason) = verifier.verify(&headers.id, &headers.timestamp, &headers.signature, &body, now) {
        let details =
            json!({ "reason": reason.to_string(), "svix_id": headers.id.chars().take(64).collect::<String>() });
        security_log.record("webhook_signature_invalid", Severity::High, &meta, None, details);
        return JsonResponse::error(Status::Unauthorized, "UNAUTHENTICATED", "invalid webhook signature");
    }
    let event: ClerkEvent = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(e) => return AppError::BadRequest(format!("malformed event: {e}")).into(),
    };
    match apply_clerk_event(pool, &authenticator.viewers(), &headers.id, event).await {
        Ok(outcome) => {
            let outcome = match outcome {
                WebhookOutcome::Applied => "applied",
                WebhookOutcome::Duplicate => "duplicate",
                WebhookOutcome::Ignored => "ignored",
            };
            JsonResponse::new(Status::Ok, json!({ "received": true, "outcome": outcome }))
        }
        Err(e) => e.into(),
    }
}
