//! The GraphQL endpoint (`POST`/`GET /graphql`) with our own body guard, and the self-hosted GraphiQL.

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql_rocket::GraphQLResponse;
use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::http::{ContentType, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::response::{content::RawHtml, Responder};
use rocket::{Request, State};
use tracing::Instrument as _;

use super::context::RequestContext;
use super::response::JsonResponse;
use crate::auth::{bearer_token, AuthError, Authenticator, Viewer, ViewerError};
use crate::config::AppConfig;
use crate::db::DbPool;
use crate::error::AppError;
use crate::graphql::AppSchema;
use crate::security_log::{fingerprint, RequestMeta, SecurityLog, Severity};

/// Largest JSON request body: documents are small; anything bigger is an attack or a bug.
pub const MAX_JSON_BODY: u64 = 64 * 1024;

/// One GraphQL operation read from a JSON body.
pub struct GraphQLBody(async_graphql::Request);

#[rocket::async_trait]
impl<'r> FromData<'r> for GraphQLBody {
    type Error = AppError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let fail = |e: AppError| {
            let status = Status::from_code(e.http_status()).unwrap_or(Status::BadRequest);
            data::Outcome::Error((status, e))
        };
        if !req.content_type().is_some_and(|ct| ct.is_json()) {
            return fail(AppError::UnsupportedMediaType);
        }
        let body = match data.open(MAX_JSON_BODY.bytes()).into_bytes().await {
            Ok(body) if body.is_complete() => body.into_inner(),
            Ok(_) => {
                return fail(AppError::PayloadTooLarge {
                    limit_bytes: MAX_JSON_BODY,
                })
            }
            Err(_) => return fail(AppError::BadRequest("could not read the request body".into())),
        };
        match parse_body(&body) {
            Ok(request) => data::Outcome::Success(Self(request)),
            Err(e) => fail(e),
        }
    }
}

fn parse_body(body: &[u8]) -> Result<async_graphql::Request, AppError> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(AppError::BadRequest(
            "batched requests are not supported; send one operation per request".into(),
        ));
    }
    serde_json::from_slice(body).map_err(|e| AppError::BadRequest(format!("malformed JSON body: {e}")))
}

/// What the edge knows about the caller: the raw `Authorization` header, request facts for security
/// events, and the security log itself.
pub struct Edge<'r> {
    authorization: Option<String>,
    meta: RequestMeta,
    security_log: &'r SecurityLog,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Edge<'r> {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let Outcome::Success(meta) = req.guard::<RequestMeta>().await else {
            return Outcome::Forward(Status::InternalServerError);
        };
        let Some(security_log) = req.rocket().state::<SecurityLog>() else {
            return Outcome::Forward(Status::InternalServerError);
        };
        Outcome::Success(Self {
            authorization: req.headers().get_one("Authorization").map(str::to_owned),
            meta,
            security_log,
        })
    }
}

/// Query-string parameters of `GET /graphql` (all optional so that we, not Rocket, word the errors).
#[derive(rocket::FromForm)]
pub struct GetParams {
    query: Option<String>,
    #[field(name = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
}

#[rocket::post("/graphql", data = "<body>")]
pub async fn graphql_post(
    schema: &State<AppSchema>,
    authenticator: &State<Authenticator>,
    pool: &State<DbPool>,
    ctx: &RequestContext,
    edge: Edge<'_>,
    body: Result<GraphQLBody, AppError>,
) -> Result<GraphQLResponse, JsonResponse> {
    let request = body?.0;
    execute(schema, authenticator, pool, ctx, edge, request).await
}

#[rocket::get("/graphql?<params..>")]
pub async fn graphql_get(
    schema: &State<AppSchema>,
    authenticator: &State<Authenticator>,
    pool: &State<DbPool>,
    ctx: &RequestContext,
    edge: Edge<'_>,
    params: GetParams,
) -> Result<GraphQLResponse, JsonResponse> {
    let query = params
        .query
        .ok_or_else(|| AppError::BadRequest("missing `query` parameter".into()))?;
    // A GET must never change anything: it can be triggered cross-site by a link or an <img>.
    // Unparseable or ambiguous documents fall through: execution reports those as GraphQL errors.
    if operation_type(&query, params.operation_name.as_deref()).is_some_and(|ty| ty != OperationType::Query) {
        return Err(JsonResponse::error(
            Status::MethodNotAllowed,
            "METHOD_NOT_ALLOWED",
            "only queries may be sent with GET; use POST for mutations",
        )
        .header("Allow", "POST"));
    }
    let mut request = async_graphql::Request::new(query);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = params.variables.filter(|v| !v.is_empty()) {
        let value = serde_json::from_str(&variables)
            .map_err(|e| AppError::BadRequest(format!("malformed `variables` parameter: {e}")))?;
        request = request.variables(async_graphql::Variables::from_json(value));
    }
    execute(schema, authenticator, pool, ctx, edge, request).await
}

/// Resolves the viewer, then runs the operation inside a span carrying the request id.
async fn execute(
    schema: &AppSchema,
    authenticator: &Authenticator,
    pool: &DbPool,
    ctx: &RequestContext,
    edge: Edge<'_>,
    request: async_graphql::Request,
) -> Result<GraphQLResponse, JsonResponse> {
    ctx.set_operation(request.operation_name.as_deref());
    let span = tracing::info_span!("graphql", request_id = %ctx.id);
    let authorization = edge.authorization.as_deref();
    let viewer = match authenticator.viewer(authorization, pool).instrument(span.clone()).await {
        Ok(viewer) => viewer,
        Err(ViewerError::Auth(AuthError::KeysUnavailable(reason))) => {
            tracing::error!(parent: &span, %reason, "cannot verify tokens: signing keys unavailable");
            return Err(AppError::ServiceUnavailable.into());
        }
        Err(ViewerError::Auth(reason)) => {
            let token = authorization.and_then(bearer_token).map(fingerprint);
            let details = serde_json::json!({ "reason": reason.to_string(), "token_fingerprint": token });
            edge.security_log
                .record("auth_failure", Severity::Medium, &edge.meta, None, details);
            return Err(AppError::Unauthenticated.into());
        }
        Err(ViewerError::App(e)) => {
            let _entered = span.enter();
            return Err(JsonResponse::from(e));
        }
    };
    let request = request.data::<Viewer>(viewer);
    let response = schema.execute(request).instrument(span).await;
    Ok(response.into())
}

/// The type of the operation that would run, if the document parses and names one unambiguously.
fn operation_type(query: &str, name: Option<&str>) -> Option<OperationType> {
    let document = async_graphql::parser::parse_query(query).ok()?;
    match document.operations {
        DocumentOperations::Single(op) => Some(op.node.ty),
        DocumentOperations::Multiple(ops) => match name {
            Some(name) => ops.get(name).map(|op| op.node.ty),
            None if ops.len() == 1 => ops.values().next().map(|op| op.node.ty),
            None => None,
        },
    }
}

const GRAPHIQL_HTML: &str = include_str!("../../assets/graphiql/index.html");

/// GraphiQL, served entirely by us (no CDN), on by default in development only.
#[rocket::get("/graphiql")]
pub fn graphiql(config: &State<AppConfig>) -> Option<RawHtml<&'static str>> {
    config.graphiql_enabled.then_some(RawHtml(GRAPHIQL_HTML))
}

/// A static file compiled into the binary.
#[derive(Responder)]
pub struct Asset {
    body: &'static [u8],
    content_type: ContentType,
    cache: rocket::http::Header<'static>,
}

#[rocket::get("/graphiql/<file>")]
pub fn graphiql_asset(config: &State<AppConfig>, file: &str) -> Option<Asset> {
    if !config.graphiql_enabled {
        return None;
    }
    let (body, content_type): (&'static [u8], ContentType) = match file {
        "graphiql.min.js" => (
            include_bytes!("../../assets/graphiql/graphiql.min.js"),
            ContentType::JavaScript,
        ),
        "graphiql.min.css" => (
            include_bytes!("../../assets/graphiql/graphiql.min.css"),
            ContentType::CSS,
        ),
        "react.production.min.js" => (
            include_bytes!("../../assets/graphiql/react.production.min.js"),
            ContentType::JavaScript,
        ),
        "react-dom.production.min.js" => (
            include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
            ContentType::JavaScript,
        ),
        "init.js" => (include_bytes!("../../assets/graphiql/init.js"), ContentType::JavaScript),
        _ => return None,
    };
    Some(Asset {
        body,
        content_type,
        cache: rocket::http::Header::new("Cache-Control", "public, max-age=86400"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_types_are_detected() {
        assert_eq!(
            operation_type("{ health { status } }", None),
            Some(OperationType::Query)
        );
        assert_eq!(operation_type("mutation M { x }", None), Some(OperationType::Mutation));
        assert_eq!(
            operation_type("query A { a } mutation B { b }", Some("B")),
            Some(OperationType::Mutation)
        );
        assert_eq!(operation_type("query A { a } mutation B { b }", None), None);
        assert_eq!(operation_type("{ unclosed", None), None);
    }

    #[test]
    fn batches_and_garbage_are_bad_requests() {
        assert_eq!(
            parse_body(b"  [{\"query\":\"{a}\"}]").err().map(|e| e.code()),
            Some("BAD_REQUEST")
        );
        assert_eq!(parse_body(b"{not json").err().map(|e| e.code()), Some("BAD_REQUEST"));
        assert!(parse_body(br#"{"query":"{ a }"}"#).is_ok());
    }
}
