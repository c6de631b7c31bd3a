//! Stage 1 of the GraphQL pipeline: the body. A POST's body is read under our own guard (content types,
//! the size while streaming, the read deadline, no batches; multipart files spooled to quarantine) into one
//! operation, [`GraphQLBody`], or refused with the reason admission would log.

use std::sync::Arc;

use rocket::data::{self, Data, FromData};
use rocket::http::Status;
use rocket::request::Outcome;
use rocket::Request;

use crate::config::AppConfig;
use crate::error::AppError;
use crate::http::body;
use crate::http::multipart;
use crate::http::operation::{parse_body, MAX_JSON_BODY};
use crate::http::rate_limit::{GraphqlQuota, Limited, RateLimits, RouteLimit};
use crate::media::{MediaService, SpooledFile};

/// One GraphQL operation read from the body, with the files a multipart request spooled to quarantine.
pub struct GraphQLBody {
    pub(super) request: async_graphql::Request,
    pub(super) files: Vec<SpooledFile>,
}

/// Why a body was refused: a client error, or the upload rate limit (checked before anything is spooled).
#[derive(Debug)]
pub enum BodyError {
    App(AppError),
    Limited(Limited),
}

impl From<AppError> for BodyError {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

#[rocket::async_trait]
impl<'r> FromData<'r> for GraphQLBody {
    type Error = BodyError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        match read_body(req, data).await {
            Ok(body) => data::Outcome::Success(body),
            Err(BodyError::App(e)) => data::Outcome::Error((
                Status::from_code(e.http_status()).unwrap_or(Status::BadRequest),
                BodyError::App(e),
            )),
            Err(limited) => data::Outcome::Error((Status::TooManyRequests, limited)),
        }
    }
}

async fn read_body(req: &Request<'_>, data: Data<'_>) -> Result<GraphQLBody, BodyError> {
    let rocket = req.rocket();
    let (Some(config), Some(media), Some(limits)) = (
        rocket.state::<AppConfig>(),
        rocket.state::<Arc<MediaService>>(),
        rocket.state::<RateLimits>(),
    ) else {
        return Err(AppError::internal(anyhow::anyhow!("application state missing")).into());
    };
    let content_type = req.content_type();
    let multipart = content_type.is_some_and(|ct| ct.top() == "multipart" && ct.sub() == "form-data");
    let cap = if multipart {
        config.max_request_size
    } else {
        MAX_JSON_BODY
    };
    body::check_declared(req, cap)?;
    // Refusals decided before reading still drain the body, so that the client hears them.
    let refusal = if multipart && !has_preflight_header(req) {
        // Browsers send form posts cross-site without a preflight: refusing them closes CSRF.
        Some(BodyError::App(AppError::UnsupportedMediaType(
            "multipart requests need a `GraphQL-Require-Preflight` (or `Apollo-Require-Preflight`) header",
        )))
    } else if !multipart && !content_type.is_some_and(|ct| ct.is_json()) {
        Some(BodyError::App(AppError::UnsupportedMediaType(
            "unsupported content type; send application/json",
        )))
    } else if let Outcome::Success(Err(limited)) = req.guard::<RouteLimit<GraphqlQuota>>().await.map(|l| l.0) {
        // The route class's verdict, cached for this request (not counted twice); the handler answers it.
        Some(BodyError::Limited(limited))
    } else if multipart {
        limits.upload_from(req.client_ip()).await.err().map(BodyError::Limited)
    } else {
        None
    };
    if let Some(refusal) = refusal {
        body::drain(req, data, config.max_request_size, config.body_timeout).await;
        return Err(refusal);
    }
    if multipart {
        let raw_type = req.headers().get_one("Content-Type").unwrap_or_default();
        // Spooled files are removed when dropped: a timeout or refusal leaves nothing in quarantine.
        let read = multipart::read(data, raw_type, config.max_request_size, media);
        let parsed = tokio::time::timeout(config.body_timeout, read)
            .await
            .map_err(|_| AppError::RequestTimeout)??;
        return Ok(GraphQLBody {
            request: parsed.request,
            files: parsed.files,
        });
    }
    let body = body::read(req, data, MAX_JSON_BODY, config.body_timeout).await?;
    Ok(GraphQLBody {
        request: parse_body(&body)?,
        files: Vec::new(),
    })
}

fn has_preflight_header(req: &Request<'_>) -> bool {
    ["GraphQL-Require-Preflight", "Apollo-Require-Preflight"]
        .iter()
        .any(|name| req.headers().get_one(name).is_some_and(|v| !v.trim().is_empty()))
}
