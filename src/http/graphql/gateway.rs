//! The GraphQL pipeline's surroundings: everything a request brings besides its body (the services it
//! uses, who sent it and what it accepts), gathered once by a request guard and handed to every stage.

use std::net::IpAddr;
use std::sync::Arc;

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome};
use rocket::Request;
use serde_json::json;

use crate::auth::Authenticator;
use crate::config::AppConfig;
use crate::db::DbPool;
use crate::error::AppError;
use crate::graphql::Schemas;
use crate::http::context::RequestContext;
use crate::http::persisted_queries::PersistedQueries;
use crate::http::rate_limit::RateLimits;
use crate::http::response::JsonResponse;
use crate::media::MediaService;
use crate::security_log::{RequestMeta, SecurityLog, Severity};

/// Everything the endpoint needs besides the body, gathered once.
pub struct Gateway<'r> {
    pub(super) schemas: &'r Schemas,
    pub(super) authenticator: &'r Authenticator,
    pub(super) pool: &'r DbPool,
    pub(super) media: &'r Arc<MediaService>,
    pub(super) limits: &'r RateLimits,
    pub(super) persisted: &'r PersistedQueries,
    pub(super) shutdown: rocket::Shutdown,
    pub(super) config: &'r AppConfig,
    pub(super) log: &'r SecurityLog,
    pub(super) ctx: &'r RequestContext,
    pub(super) meta: RequestMeta,
    pub(super) client_ip: Option<IpAddr>,
    pub(super) authorization: Option<String>,
    /// Every `Idempotency-Key` header sent (more than one is refused, not one of them picked).
    pub(super) idempotency_keys: Vec<String>,
    pub(super) if_none_match: Option<String>,
    pub(super) content_type: Option<String>,
    /// The client prefers `application/graphql-response+json`.
    pub(super) graphql_media: bool,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Gateway<'r> {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let rocket = req.rocket();
        let (
            Some(schemas),
            Some(authenticator),
            Some(pool),
            Some(media),
            Some(limits),
            Some(persisted),
            Some(config),
            Some(log),
        ) = (
            rocket.state::<Schemas>(),
            rocket.state::<Authenticator>(),
            rocket.state::<DbPool>(),
            rocket.state::<Arc<MediaService>>(),
            rocket.state::<RateLimits>(),
            rocket.state::<PersistedQueries>(),
            rocket.state::<AppConfig>(),
            rocket.state::<SecurityLog>(),
        )
        else {
            return Outcome::Forward(Status::InternalServerError);
        };
        let Outcome::Success(meta) = req.guard::<RequestMeta>().await else {
            return Outcome::Forward(Status::InternalServerError);
        };
        Outcome::Success(Self {
            schemas,
            authenticator,
            pool,
            media,
            limits,
            persisted,
            shutdown: rocket.shutdown(),
            config,
            log,
            ctx: RequestContext::of(req),
            meta,
            client_ip: req.client_ip(),
            authorization: req.headers().get_one("Authorization").map(str::to_owned),
            idempotency_keys: req.headers().get("Idempotency-Key").map(str::to_owned).collect(),
            if_none_match: req.headers().get_one("If-None-Match").map(str::to_owned),
            content_type: req
                .headers()
                .get_one("Content-Type")
                .map(|c| c.chars().take(100).collect()),
            graphql_media: prefers_graphql_response(req.headers().get_one("Accept")),
        })
    }
}

impl Gateway<'_> {
    pub(super) fn event(&self, event_type: &str, severity: Severity, details: serde_json::Value) {
        self.log.record(event_type, severity, &self.meta, None, details);
    }

    /// A refused body, logged where it matters.
    pub(super) fn body_error(&self, error: AppError) -> JsonResponse {
        match &error {
            AppError::UnsupportedMediaType(_) => {
                let content_type = self.content_type.clone().unwrap_or_default();
                self.event(
                    "content_type_rejected",
                    Severity::Low,
                    json!({ "content_type": content_type }),
                );
            }
            AppError::PayloadTooLarge { limit_bytes } => {
                self.event(
                    "limit_violation",
                    Severity::Medium,
                    json!({ "limit": "body_size", "max": limit_bytes }),
                );
            }
            AppError::RequestTimeout => {
                self.event("limit_violation", Severity::Medium, json!({ "limit": "body_timeout" }));
            }
            _ => {}
        }
        error.into()
    }
}

/// Whether `Accept` prefers `application/graphql-response+json` to `application/json` (q-values honoured;
/// `*/*` and a missing header mean `application/json`).
fn prefers_graphql_response(accept: Option<&str>) -> bool {
    let quality = |wanted: &str| {
        accept?.split(',').find_map(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next()?;
            media.eq_ignore_ascii_case(wanted).then(|| {
                parts
                    .find_map(|p| p.strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()))
                    .unwrap_or(1.0)
            })
        })
    };
    match (
        quality("application/graphql-response+json"),
        quality("application/json"),
    ) {
        (Some(graphql), json) => graphql > 0.0 && json.is_none_or(|json| graphql >= json),
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation_honours_quality_values() {
        assert!(prefers_graphql_response(Some("application/graphql-response+json")));
        assert!(prefers_graphql_response(Some(
            "application/graphql-response+json, application/json;q=0.9"
        )));
        assert!(!prefers_graphql_response(Some(
            "application/json, application/graphql-response+json;q=0.5"
        )));
        assert!(!prefers_graphql_response(Some("application/graphql-response+json;q=0")));
        assert!(!prefers_graphql_response(Some("*/*")));
        assert!(!prefers_graphql_response(None));
    }
}
