//! The GraphQL endpoint (`POST`/`GET /graphql`) as a pipeline whose stages are the rooms of this folder, in
//! the order a request walks them; each takes the previous stage's output and hands on its own:
//!
//! ```text
//!   gateway   the request's surroundings (services, client, Accept)       -> Gateway
//!   body      POST body: content type, size, deadline, multipart spool     -> GraphQLBody
//!   admit     limits, GET = query, variables, probes, quotas, idempotency  -> Admitted
//!   execute   viewer, deadlines, idempotent transaction, retry             -> Answer
//!   reply     media type, status, ETag/304, one write                      -> HTTP response
//! ```
//!
//! A stage imports only from the stages before it (and from below `http`). Every refusal is a JSON error
//! with a stable code, and the security-relevant ones are logged.

mod admit;
mod body;
mod execute;
mod gateway;
mod reply;
mod socket;

use rocket::http::Method;

use crate::error::AppError;
use crate::http::rate_limit::{GraphqlQuota, RouteLimit};
use crate::http::response::JsonResponse;
use crate::media::SpooledFile;
use admit::{admit, NotAdmitted};
use body::{BodyError, GraphQLBody};
use execute::{execute, Answer};
use gateway::Gateway;
use reply::{Reply, Validator};
pub use socket::{graphql_ws, Sockets};

/// An operation through admission and execution.
async fn operate(
    gateway: &Gateway<'_>,
    request: async_graphql::Request,
    files: Vec<SpooledFile>,
    method: Method,
) -> Result<Answer, JsonResponse> {
    match admit(gateway, request, files, method).await {
        Ok(admitted) => execute(gateway, admitted).await,
        Err(NotAdmitted::Answered(response)) => Ok(Answer::Executed(response)),
        Err(NotAdmitted::Refused(response)) => Err(response),
    }
}

#[rocket::post("/graphql", data = "<body>")]
pub async fn graphql_post(
    gateway: Gateway<'_>,
    limit: RouteLimit<GraphqlQuota>,
    body: Result<GraphQLBody, BodyError>,
) -> Reply {
    let result = async {
        if let Err(limited) = limit.0 {
            return Err(limited.respond(gateway.log, &gateway.meta, None));
        }
        let body = match body {
            Ok(body) => body,
            Err(BodyError::App(e)) => return Err(gateway.body_error(e)),
            Err(BodyError::Limited(limited)) => return Err(limited.respond(gateway.log, &gateway.meta, None)),
        };
        operate(&gateway, body.request, body.files, Method::Post).await
    }
    .await;
    Reply::new(&gateway, result)
}

/// Query-string parameters of `GET /graphql` (all optional so that we, not Rocket, word the errors).
#[derive(rocket::FromForm)]
pub struct GetParams {
    query: Option<String>,
    #[field(name = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

#[rocket::get("/graphql?<params..>")]
pub async fn graphql_get(gateway: Gateway<'_>, limit: RouteLimit<GraphqlQuota>, params: GetParams) -> Reply {
    let result = async {
        if let Err(limited) = limit.0 {
            return Err(limited.respond(gateway.log, &gateway.meta, None));
        }
        let json = |name: &str, text: &str| {
            serde_json::from_str::<serde_json::Value>(text)
                .map_err(|e| AppError::BadRequest(format!("malformed `{name}` parameter: {e}")))
        };
        let extensions = match params.extensions.filter(|e| !e.is_empty()) {
            Some(text) => serde_json::from_value(json("extensions", &text)?)
                .map_err(|_| AppError::BadRequest("the `extensions` parameter must be a JSON object".into()))?,
            None => async_graphql::Extensions::default(),
        };
        // A persisted query's hash may stand for its document (Apollo's `useGETForHashedQueries`).
        let query = params.query.filter(|q| !q.trim().is_empty());
        if query.is_none() && !extensions.contains_key("persistedQuery") {
            return Err(AppError::BadRequest("missing `query` parameter".into()).into());
        }
        let mut request = async_graphql::Request::new(query.unwrap_or_default());
        request.extensions = extensions;
        if let Some(name) = params.operation_name {
            request = request.operation_name(name);
        }
        if let Some(variables) = params.variables.filter(|v| !v.is_empty()) {
            request = request.variables(async_graphql::Variables::from_json(json("variables", &variables)?));
        }
        operate(&gateway, request, Vec::new(), Method::Get).await
    }
    .await;
    let mut reply = Reply::new(&gateway, result);
    reply.validator = Some(Validator {
        if_none_match: gateway.if_none_match.clone(),
        personal: gateway.authorization.is_some(),
    });
    reply
}
