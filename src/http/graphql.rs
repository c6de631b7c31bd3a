//! The GraphQL endpoint (`POST`/`GET /graphql`): our own body guard (content types, size while
//! streaming, read deadline, no batches), document limits, rate limits, the viewer, then execution under a
//! deadline. Every refusal is a JSON error with a stable code, and the security-relevant ones are logged.

use std::net::IpAddr;
use std::sync::Arc;

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql_rocket::GraphQLResponse;
use rocket::data::{self, Data, FromData};
use rocket::http::{ContentType, Method, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::Request;
use serde_json::json;
use tracing::Instrument as _;

use super::body;
use super::context::RequestContext;
use super::multipart;
use super::operation::{parse_body, MAX_JSON_BODY};
use super::persisted_queries::{self, PersistedQueries};
use super::rate_limit::{GraphqlQuota, ImportClass, Limited, RateLimits, RouteLimit};
use super::response::{JsonResponse, STORAGE_FULL_RETRY_AFTER_SECS, UNAVAILABLE_RETRY_AFTER_SECS};
use crate::auth::{bearer_token, AuthError, Authenticator, Viewer, ViewerError};
use crate::config::{AppConfig, SHUTDOWN_GRACE_SECS};
use crate::db::{DbPool, RequestConnection};
use crate::deadlines::{EXECUTION_TIMEOUT, UPLOAD_EXECUTION_TIMEOUT};
use crate::error::AppError;
use crate::graphql::inputs;
use crate::graphql::limits::{self, Refusal};
use crate::graphql::refusals::{self, DocumentCost};
use crate::graphql::{AppSchema, Schemas};
use crate::idempotency::{self, Claim};
use crate::media::{MediaService, SpooledFile, SpooledFiles};
use crate::security_log::{fingerprint, RequestMeta, SecurityLog, Severity};

/// Documents longer than this are parsed off the async workers (a 15 KB document parses in about a
/// millisecond; ordinary ones are a few hundred bytes and not worth a thread hand-off).
const OFFLOAD_DOCUMENT_BYTES: usize = 2_048;

/// One GraphQL operation read from the body, with the files a multipart request spooled to quarantine.
pub struct GraphQLBody {
    request: async_graphql::Request,
    files: Vec<SpooledFile>,
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

/// Everything the endpoint needs besides the body, gathered once.
pub struct Gateway<'r> {
    schemas: &'r Schemas,
    authenticator: &'r Authenticator,
    pool: &'r DbPool,
    media: &'r Arc<MediaService>,
    limits: &'r RateLimits,
    persisted: &'r PersistedQueries,
    shutdown: rocket::Shutdown,
    config: &'r AppConfig,
    log: &'r SecurityLog,
    ctx: &'r RequestContext,
    meta: RequestMeta,
    client_ip: Option<IpAddr>,
    authorization: Option<String>,
    /// Every `Idempotency-Key` header sent (more than one is refused, not one of them picked).
    idempotency_keys: Vec<String>,
    if_none_match: Option<String>,
    content_type: Option<String>,
    /// The client prefers `application/graphql-response+json`.
    graphql_media: bool,
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
    fn event(&self, event_type: &str, severity: Severity, details: serde_json::Value) {
        self.log.record(event_type, severity, &self.meta, None, details);
    }

    /// A refused body, logged where it matters.
    fn body_error(&self, error: AppError) -> JsonResponse {
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
        execute(&gateway, body.request, body.files, Method::Post).await
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
        execute(&gateway, request, Vec::new(), Method::Get).await
    }
    .await;
    let mut reply = Reply::new(&gateway, result);
    reply.validator = Some(Validator {
        if_none_match: gateway.if_none_match.clone(),
        personal: gateway.authorization.is_some(),
    });
    reply
}

/// The answer, in the media type the client accepts. `application/graphql-response+json` (when the client
/// prefers it): a request error (raised before execution: parse, validation, limits, coercion of
/// variables) is 400 without `data`. `application/json` (legacy, `*/*`, no `Accept`): a well-formed request
/// is always 200, as GraphQL over HTTP asks. Refusals of the request itself keep their status either way.
pub struct Reply {
    graphql_media: bool,
    result: Result<Answer, JsonResponse>,
    /// A query sent with GET: its answer carries a strong `ETag`, and one the client already holds is 304.
    validator: Option<Validator>,
}

/// How a GET's answer may be kept and checked again.
struct Validator {
    /// The tags the client holds (`If-None-Match`).
    if_none_match: Option<String>,
    /// Asked with credentials: only the client may keep it (`private`), and it asks again every time.
    personal: bool,
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
        let held = self.if_none_match.as_deref().is_some_and(|tags| {
            tags.split(',')
                .map(|tag| tag.trim().trim_start_matches("W/"))
                .any(|tag| tag == etag || tag == "*")
        });
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

impl Reply {
    fn new(gw: &Gateway<'_>, result: Result<Answer, JsonResponse>) -> Self {
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

/// No `data` and only errors without a path: nothing was executed.
fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
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

/// Limits, probes, write quota, viewer, then the operation under a deadline, in a span with the request id.
/// The document is parsed once, here (large ones off the async workers); a `GET` may only run a query.
async fn execute(
    gw: &Gateway<'_>,
    mut request: async_graphql::Request,
    files: Vec<SpooledFile>,
    method: Method,
) -> Result<Answer, JsonResponse> {
    gw.ctx.set_operation(request.operation_name.as_deref());
    let span = tracing::info_span!("graphql", request_id = %gw.ctx.id);
    let persisted = persisted_queries::requested_hash(&request.extensions)?;
    let to_keep = match &persisted {
        Some(hash) if request.query.trim().is_empty() => {
            match gw.persisted.get(hash, gw.limits.shared_store()).await {
                Some(query) => request.query = query,
                None => {
                    let error = async_graphql::ServerError::new("PersistedQueryNotFound", None);
                    return Ok(Answer::Executed(refused(error, "PERSISTED_QUERY_NOT_FOUND")));
                }
            }
            None
        }
        Some(hash) if !persisted_queries::matches(&request.query, hash) => {
            return Err(AppError::BadRequest("`persistedQuery.sha256Hash` is not the SHA-256 of `query`".into()).into())
        }
        Some(hash) => Some(hash),
        None => None,
    };

    let heavy = request.query.len() > OFFLOAD_DOCUMENT_BYTES;
    let introspection_allowed = !gw.config.is_production();
    let checked = match refusals::offload(heavy, || limits::check(&request.query, introspection_allowed)) {
        Ok(checked) => checked,
        Err(Refusal::Introspection) => {
            gw.event("introspection_blocked", Severity::Low, json!({}));
            return Err(AppError::IntrospectionDisabled.into());
        }
        Err(Refusal::Limit { kind, message }) => {
            gw.event("limit_violation", Severity::Medium, json!({ "limit": kind }));
            return Err(AppError::QueryLimit { limit: kind, message }.into());
        }
        Err(Refusal::Parse(error)) => return Ok(Answer::Executed(refused(error, "GRAPHQL_PARSE_FAILED"))),
        Err(Refusal::FragmentCycle(message)) => {
            return Ok(Answer::Executed(refused(
                async_graphql::ServerError::new(message, None),
                "GRAPHQL_VALIDATION_FAILED",
            )))
        }
    };
    if let Some(hash) = to_keep {
        gw.persisted.put(hash, &request.query, gw.limits.shared_store()).await;
    }
    let operation = operation_type(&checked.document, request.operation_name.as_deref());
    // The request log names the operation: the one asked for, else the document's only named one.
    if let (None, DocumentOperations::Multiple(ops)) = (&request.operation_name, &checked.document.operations) {
        if let (1, Some(name)) = (ops.len(), ops.keys().next()) {
            gw.ctx.set_operation(Some(name.as_str()));
        }
    }
    // A GET must never change anything: it can be triggered cross-site by a link or an <img>.
    if method == Method::Get && operation.is_some_and(|ty| ty != OperationType::Query) {
        return Err(JsonResponse::error(
            Status::MethodNotAllowed,
            "METHOD_NOT_ALLOWED",
            "only queries may be sent with GET; use POST for mutations",
        )
        .header("Allow", "POST"));
    }
    let coerced = chosen_operation(&checked.document, request.operation_name.as_deref())
        .map_or(Ok(()), |op| gw.schemas.inputs.coerce(&op.node, &request.variables));
    if let Err(error) = inputs::check_strings(&checked.document, &request.variables).and(coerced) {
        let error = async_graphql::ErrorExtensions::extend(&error);
        let mut refusal = async_graphql::ServerError::new(error.message, None);
        refusal.extensions = error.extensions;
        return Ok(Answer::Executed(async_graphql::Response::from_errors(vec![refusal])));
    }
    // What an import reads (a page, a note) is data, not a probe: only its document is looked at.
    let imports = selects_import(&checked.document, request.operation_name.as_deref());
    report_probes(gw, &request, imports.is_none());
    let mut idempotent = None;
    if operation == Some(OperationType::Mutation) {
        // Drafts of what the user sent write nothing; the `drafts` class counts them instead.
        if imports != Some(ImportClass::Draft) {
            if let Err(limited) = gw.limits.write(gw.client_ip).await {
                return Err(limited.respond(gw.log, &gw.meta, None));
            }
        }
        if let Some(key) = idempotency::parse_keys(&gw.idempotency_keys)? {
            let files: Vec<String> = files.iter().map(|f| f.sha256.clone()).collect();
            idempotent = Some(Idempotent {
                key,
                hash: idempotency::request_hash(&request, &files),
            });
        }
    }
    // A query that meets a database fault is run once more; keep what it takes to build it again.
    let retry = (operation == Some(OperationType::Query) && files.is_empty()).then(|| Retry {
        query: request.query.clone(),
        operation_name: request.operation_name.clone(),
        variables: request.variables.clone(),
    });
    request = request.data(DocumentCost(checked.expanded_fields));
    request.set_parsed_query(checked.document);
    let schema = match &gw.schemas.introspection {
        Some(introspection) if checked.introspection_only => introspection,
        _ if idempotent.is_some() || refusals::is_heavy(checked.expanded_fields) => &gw.schemas.extended,
        _ => &gw.schemas.data,
    };

    let operation = Operation {
        request,
        files,
        imports,
        idempotent,
        retry,
    };
    let ran = crate::db::count_statements(run(gw, schema, operation, span));
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

/// A document refused before validation, answered like async-graphql answers one (a request error: see
/// `Reply` for its status) but with a code.
fn refused(mut error: async_graphql::ServerError, code: &'static str) -> async_graphql::Response {
    error.extensions.get_or_insert_with(Default::default).set("code", code);
    async_graphql::Response::from_errors(vec![error])
}

/// An operation ready to run, with what idempotency and a retry need.
struct Operation {
    request: async_graphql::Request,
    files: Vec<SpooledFile>,
    /// The operation imports (an `import…` mutation field), and the rate class that counts it.
    imports: Option<ImportClass>,
    idempotent: Option<Idempotent>,
    retry: Option<Retry>,
}

/// A mutation sent with an `Idempotency-Key`.
struct Idempotent {
    key: String,
    hash: Vec<u8>,
}

/// A query as sent, to run it once more after a database fault.
struct Retry {
    query: String,
    operation_name: Option<String>,
    variables: async_graphql::Variables,
}

impl Retry {
    fn into_request(self) -> async_graphql::Request {
        let request = async_graphql::Request::new(self.query).variables(self.variables);
        match self.operation_name {
            Some(name) => request.operation_name(name),
            None => request,
        }
    }
}

/// The viewer, then the operation under its deadline; SQL statements are counted around this. A mutation
/// with an `Idempotency-Key` runs as one transaction that also stores its response; a query that meets a
/// database fault runs once more, on another connection, within the same deadline; a fault that persists is
/// answered 503 with `Retry-After`.
async fn run(
    gw: &Gateway<'_>,
    schema: &AppSchema,
    operation: Operation,
    span: tracing::Span,
) -> Result<Answer, JsonResponse> {
    let Operation {
        request,
        files,
        imports,
        idempotent,
        retry,
    } = operation;
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

/// Logs injection or traversal probes in the document or (when `variables`) its variables: kinds only,
/// never values.
fn report_probes(gw: &Gateway<'_>, request: &async_graphql::Request, variables: bool) {
    let mut kinds = if variables {
        serde_json::to_value(&request.variables)
            .map(|v| crate::threats::probes_in_json(&v, 1_000))
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    if let Some(kind) = crate::threats::probe(&request.query) {
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if !kinds.is_empty() {
        gw.event(
            "suspicious_request",
            Severity::High,
            json!({ "pattern": "injection_probe", "kinds": kinds }),
        );
    }
}

/// The import class of the operation that would run, by its `import…` fields at the root (directly or
/// through fragments; fragment cycles were refused before): `None` when it imports nothing, `Fetch` when
/// one of them fetches, `Draft` when they only read what the user sent.
fn selects_import(document: &ExecutableDocument, name: Option<&str>) -> Option<ImportClass> {
    use async_graphql::parser::types::{Selection, SelectionSet};
    fn walk<'d>(document: &'d ExecutableDocument, set: &'d SelectionSet, depth: usize, out: &mut Vec<&'d str>) {
        if depth >= 16 {
            return;
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => out.push(field.node.name.node.as_str()),
                Selection::InlineFragment(inline) => walk(document, &inline.node.selection_set.node, depth + 1, out),
                Selection::FragmentSpread(spread) => {
                    if let Some(f) = document.fragments.get(&spread.node.fragment_name.node) {
                        walk(document, &f.node.selection_set.node, depth + 1, out);
                    }
                }
            }
        }
    }
    let operation = chosen_operation(document, name).filter(|op| op.node.ty == OperationType::Mutation)?;
    let mut fields = Vec::new();
    walk(document, &operation.node.selection_set.node, 0, &mut fields);
    let imports: Vec<&str> = fields.into_iter().filter(|f| f.starts_with("import")).collect();
    let drafts_only = imports
        .iter()
        .all(|f| matches!(*f, "importRecipeFromHtml" | "importRecipeFromText"));
    (!imports.is_empty()).then_some(if drafts_only {
        ImportClass::Draft
    } else {
        ImportClass::Fetch
    })
}

/// The operation that would run, if the document names one unambiguously.
fn chosen_operation<'d>(
    document: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<&'d async_graphql::Positioned<async_graphql::parser::types::OperationDefinition>> {
    match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// The type of the operation that would run, if the document names one unambiguously.
fn operation_type(document: &ExecutableDocument, name: Option<&str>) -> Option<OperationType> {
    chosen_operation(document, name).map(|op| op.node.ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(query: &str, name: Option<&str>) -> Option<OperationType> {
        operation_type(&async_graphql::parser::parse_query(query).ok()?, name)
    }

    #[test]
    fn imports_are_seen_through_aliases_and_fragments() {
        let imports = |query: &str, name: Option<&str>| {
            async_graphql::parser::parse_query(query).is_ok_and(|doc| selects_import(&doc, name).is_some())
        };
        let fetches = |query: &str| {
            async_graphql::parser::parse_query(query)
                .ok()
                .and_then(|doc| selects_import(&doc, None))
        };
        assert_eq!(
            fetches("mutation { importRecipeFromText(text: \"x\") { title } }"),
            Some(ImportClass::Draft)
        );
        assert_eq!(
            fetches("mutation { a: importRecipeFromHtml(html: \"\", url: \"\") { title } b: importRecipeFromUrl(url: \"\") { title } }"),
            Some(ImportClass::Fetch),
            "a draft beside a fetch counts as a fetch"
        );
        assert!(imports(
            "mutation { a: importRecipeFromUrl(url: \"x\") { title } }",
            None
        ));
        assert!(imports(
            "mutation { ...F } fragment F on MutationRoot { importRecipeFromText(text: \"x\") { title } }",
            None
        ));
        assert!(imports(
            "mutation { ... on MutationRoot { importRecipeFromHtml(html: \"\", url: \"\") { title } } }",
            None
        ));
        assert!(imports(
            "query Q { health { status } } mutation M { importRecipeFromUrl(url: \"x\") { title } }",
            Some("M")
        ));
        assert!(!imports(
            "query Q { health { status } } mutation M { importRecipeFromUrl(url: \"x\") { title } }",
            Some("Q")
        ));
        assert!(!imports(
            "mutation { createRecipe(input: { title: \"import\" }) { id } }",
            None
        ));
        assert!(!imports("{ health { status } }", None));
        assert!(
            imports(
                "mutation { importRecipeImage(recipeId: \"x\", url: \"y\") { id } }",
                None
            ),
            "fetching a picture is an import too"
        );
    }

    #[test]
    fn operation_types_are_detected() {
        assert_eq!(ty("{ health { status } }", None), Some(OperationType::Query));
        assert_eq!(ty("mutation M { x }", None), Some(OperationType::Mutation));
        assert_eq!(
            ty("query A { a } mutation B { b }", Some("B")),
            Some(OperationType::Mutation)
        );
        assert_eq!(ty("query A { a } mutation B { b }", None), None);
        assert_eq!(ty("{ unclosed", None), None);
    }

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
