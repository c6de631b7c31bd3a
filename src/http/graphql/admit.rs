//! Stage 2 of the GraphQL pipeline: admission. An operation read from the body (or a GET's query string) is
//! admitted to run, or refused before anything runs: a persisted query found or kept, the document limits,
//! mutations never by GET, its variables coerced against the schema, probes reported, the write quota
//! charged, the idempotency key read; then the schema it runs on is chosen. The output, [`Admitted`], is
//! what execution takes.

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use rocket::http::{Method, Status};
use serde_json::json;

use super::gateway::Gateway;
use crate::error::AppError;
use crate::graphql::inputs;
use crate::graphql::limits::{self, Refusal};
use crate::graphql::refusals::{self, DocumentCost};
use crate::graphql::AppSchema;
use crate::http::persisted_queries;
use crate::http::rate_limit::ImportClass;
use crate::http::response::JsonResponse;
use crate::idempotency;
use crate::media::SpooledFile;
use crate::security_log::Severity;

/// Documents longer than this are parsed off the async workers (a 15 KB document parses in about a
/// millisecond; ordinary ones are a few hundred bytes and not worth a thread hand-off).
const OFFLOAD_DOCUMENT_BYTES: usize = 2_048;

/// An operation admitted to run (the output of this stage, whatever carried it: a POST, a GET, and the
/// WebSocket transport to come): its document parsed and checked, its variables coerced, its quotas charged,
/// with the schema it runs on and what idempotency and a retry need.
pub(super) struct Admitted<'g> {
    pub(super) schema: &'g AppSchema,
    pub(super) request: async_graphql::Request,
    pub(super) files: Vec<SpooledFile>,
    /// The operation imports (an `import…` mutation field), and the rate class that counts it.
    pub(super) imports: Option<ImportClass>,
    pub(super) idempotent: Option<Idempotent>,
    pub(super) retry: Option<Retry>,
}

/// An operation that was not admitted: refused at the door (an HTTP error), or answered as a GraphQL
/// request error (parse, validation, coercion, an unknown persisted query).
pub(super) enum NotAdmitted {
    Refused(JsonResponse),
    Answered(async_graphql::Response),
}

impl From<JsonResponse> for NotAdmitted {
    fn from(response: JsonResponse) -> Self {
        Self::Refused(response)
    }
}

impl From<AppError> for NotAdmitted {
    fn from(error: AppError) -> Self {
        Self::Refused(error.into())
    }
}

/// A mutation sent with an `Idempotency-Key`.
pub(super) struct Idempotent {
    pub(super) key: String,
    pub(super) hash: Vec<u8>,
}

/// A query as sent, to run it once more after a database fault.
pub(super) struct Retry {
    query: String,
    operation_name: Option<String>,
    variables: async_graphql::Variables,
}

impl Retry {
    pub(super) fn into_request(self) -> async_graphql::Request {
        let request = async_graphql::Request::new(self.query).variables(self.variables);
        match self.operation_name {
            Some(name) => request.operation_name(name),
            None => request,
        }
    }
}

/// Admits an operation: its persisted document, the document limits (parsed once, here, large documents off
/// the async workers), a `GET` only for queries, variables coerced, probes reported, the write quota and the
/// idempotency key; then the schema it runs on.
pub(super) async fn admit<'g>(
    gw: &'g Gateway<'_>,
    mut request: async_graphql::Request,
    files: Vec<SpooledFile>,
    method: Method,
) -> Result<Admitted<'g>, NotAdmitted> {
    gw.ctx.set_operation(request.operation_name.as_deref());
    let persisted = persisted_queries::requested_hash(&request.extensions)?;
    let to_keep = match &persisted {
        Some(hash) if request.query.trim().is_empty() => {
            match gw.persisted.get(hash, gw.limits.shared_store()).await {
                Some(query) => request.query = query,
                None => {
                    let error = async_graphql::ServerError::new("PersistedQueryNotFound", None);
                    return Err(NotAdmitted::Answered(refused(error, "PERSISTED_QUERY_NOT_FOUND")));
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
        Err(Refusal::Parse(error)) => return Err(NotAdmitted::Answered(refused(error, "GRAPHQL_PARSE_FAILED"))),
        Err(Refusal::FragmentCycle(message)) => {
            return Err(NotAdmitted::Answered(refused(
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
        .header("Allow", "POST")
        .into());
    }
    let coerced = chosen_operation(&checked.document, request.operation_name.as_deref())
        .map_or(Ok(()), |op| gw.schemas.inputs.coerce(&op.node, &request.variables));
    if let Err(error) = inputs::check_strings(&checked.document, &request.variables).and(coerced) {
        let error = async_graphql::ErrorExtensions::extend(&error);
        let mut refusal = async_graphql::ServerError::new(error.message, None);
        refusal.extensions = error.extensions;
        return Err(NotAdmitted::Answered(async_graphql::Response::from_errors(vec![
            refusal,
        ])));
    }
    // What an import reads (a page, a note) is data, not a probe: only its document is looked at.
    let imports = selects_import(&checked.document, request.operation_name.as_deref());
    report_probes(gw, &request, imports.is_none());
    let mut idempotent = None;
    if operation == Some(OperationType::Mutation) {
        // Drafts of what the user sent write nothing; the `drafts` class counts them instead.
        if imports != Some(ImportClass::Draft) {
            if let Err(limited) = gw.limits.write(gw.client_ip).await {
                return Err(limited.respond(gw.log, &gw.meta, None).into());
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
    Ok(Admitted {
        schema,
        request,
        files,
        imports,
        idempotent,
        retry,
    })
}

/// A document refused before validation, answered like async-graphql answers one (a request error: see
/// `Reply` for its status) but with a code.
fn refused(mut error: async_graphql::ServerError, code: &'static str) -> async_graphql::Response {
    error.extensions.get_or_insert_with(Default::default).set("code", code);
    async_graphql::Response::from_errors(vec![error])
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
pub(super) fn operation_type(document: &ExecutableDocument, name: Option<&str>) -> Option<OperationType> {
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
}
