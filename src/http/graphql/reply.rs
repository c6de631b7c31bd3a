//! Stage 4 of the GraphQL pipeline: the reply. An [`Answer`] (or a refusal) goes out in the media type the
//! client accepts, with a validator for GET answers and the whole body in one write.

use async_graphql_rocket::GraphQLResponse;
use rocket::http::{ContentType, Status};
use rocket::Request;
use serde_json::json;

use super::execute::{is_request_error, Answer};
use super::gateway::Gateway;
use crate::http::response::{self, JsonResponse};

/// The answer, in the media type the client accepts. `application/graphql-response+json` (when the client
/// prefers it): a request error (raised before execution: parse, validation, limits, coercion of
/// variables) is 400 without `data`. `application/json` (legacy, `*/*`, no `Accept`): a well-formed request
/// is always 200, as GraphQL over HTTP asks. Refusals of the request itself keep their status either way.
pub struct Reply {
    graphql_media: bool,
    result: Result<Answer, JsonResponse>,
    /// A query sent with GET: its answer carries a strong `ETag`, and one the client already holds is 304.
    pub(super) validator: Option<Validator>,
}

/// How a GET's answer may be kept and checked again.
pub(super) struct Validator {
    /// The tags the client holds (`If-None-Match`).
    pub(super) if_none_match: Option<String>,
    /// Asked with credentials: only the client may keep it (`private`), and it asks again every time.
    pub(super) personal: bool,
}

impl Validator {
    /// An answer without errors, as a body with its validator: 304 without a body when the client holds it.
    fn respond(&self, body: String, media_type: ContentType) -> rocket::response::Response<'static> {
        use sha2::Digest as _;
        let digest = sha2::Sha256::new()
            .chain_update(media_type.to_string())
            .chain_update(&body)
            .finalize();
        let etag = format!("\"{}\"", &hex::encode(digest)[..32]);
        let held = response::held(self.if_none_match.as_deref(), &etag);
        let mut response = rocket::Response::build();
        response
            .raw_header("ETag", etag)
            .raw_header(
                "Cache-Control",
                if self.personal {
                    "private, no-cache"
                } else {
                    "public, max-age=5"
                },
            )
            .raw_header_adjoin("Vary", "Authorization, Accept");
        if held {
            response.status(Status::NotModified);
        } else {
            response
                .header(media_type)
                .sized_body(body.len(), std::io::Cursor::new(body));
        }
        response.finalize()
    }
}

impl Reply {
    pub(super) fn new(gw: &Gateway<'_>, result: Result<Answer, JsonResponse>) -> Self {
        Self {
            graphql_media: gw.graphql_media,
            result,
            validator: None,
        }
    }
}

impl<'r> rocket::response::Responder<'r, 'static> for Reply {
    fn respond_to(self, req: &'r Request<'_>) -> rocket::response::Result<'static> {
        let mut answer = match self.result {
            Ok(Answer::Executed(response)) if is_request_error(&response) => {
                let status = if self.graphql_media {
                    Status::BadRequest
                } else {
                    Status::Ok
                };
                let errors = serde_json::to_value(&response.errors).unwrap_or_default();
                JsonResponse::new(status, json!({ "errors": errors })).respond_to(req)?
            }
            Ok(Answer::Executed(response)) => match &self.validator {
                Some(validator) if response.errors.is_empty() => {
                    let media_type = if self.graphql_media {
                        graphql_response_type()
                    } else {
                        ContentType::JSON
                    };
                    let body = serde_json::to_string(&response).map_err(|_| Status::InternalServerError)?;
                    validator.respond(body, media_type)
                }
                _ => GraphQLResponse::from(response).respond_to(req)?,
            },
            Ok(Answer::Kept { status, body, replayed }) => {
                let mut kept = rocket::Response::build();
                kept.status(Status::from_code(status).unwrap_or(Status::Ok))
                    .header(ContentType::JSON)
                    .sized_body(body.len(), std::io::Cursor::new(body));
                if replayed {
                    kept.raw_header("Idempotent-Replayed", "true");
                }
                kept.finalize()
            }
            Err(error) => error.respond_to(req)?,
        };
        if self.graphql_media {
            answer.set_header(graphql_response_type());
        }
        // The body is already in memory: written in one piece rather than Rocket's 4 KiB chunks (a page of 20
        // recipes was five writes).
        if let Some(size) = answer.body().preset_size() {
            answer.set_max_chunk_size(size.clamp(rocket::response::Body::DEFAULT_MAX_CHUNK, MAX_WRITE));
        }
        Ok(answer)
    }
}

/// The largest single write of a response body; bigger bodies go out in pieces of this size.
const MAX_WRITE: usize = 256 * 1024;

fn graphql_response_type() -> ContentType {
    ContentType::new("application", "graphql-response+json").with_params(("charset", "utf-8"))
}
