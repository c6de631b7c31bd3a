//! What async-graphql decides by itself (validation, its depth, complexity, recursion and directive
//! limits, argument coercion) gets the same stable codes as everything else, and its CPU-heavy part
//! cannot stall the async workers.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::{ServerError, ValidationResult};

/// The expanded field count of the request's document (`limits::Checked`), placed in the request data.
pub struct DocumentCost(pub u64);

/// Documents above this expanded size are validated off the async workers.
const OFFLOAD_FIELDS: u64 = 200;

/// Whether a document of this expanded size is validated off the async workers.
pub fn is_heavy(expanded_fields: u64) -> bool {
    expanded_fields > OFFLOAD_FIELDS
}
/// A refused document reports at most this many errors: a short document must not buy a huge answer.
pub const MAX_ERRORS: usize = 20;

/// Runs `work` where it cannot hold up other requests when `heavy` (and the runtime has workers to hand
/// the others to); inline otherwise, where a thread hand-off would cost more than the work.
pub fn offload<R>(heavy: bool, work: impl FnOnce() -> R) -> R {
    if heavy && can_offload() {
        tokio::task::block_in_place(work)
    } else {
        work()
    }
}

/// Only a multi-threaded runtime can hand its other tasks to another worker (tests use single-threaded ones).
fn can_offload() -> bool {
    use tokio::runtime::{Handle, RuntimeFlavor};
    Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread)
}

/// The schema extension that validates heavy documents through [`offload`].
pub struct OffloadValidation;

impl ExtensionFactory for OffloadValidation {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OffloadValidation)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for OffloadValidation {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let heavy = ctx.data_opt::<DocumentCost>().is_some_and(|cost| is_heavy(cost.0));
        if heavy && can_offload() {
            // Validation is synchronous work behind an async signature: block on it off the workers.
            tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(next.run(ctx)))
        } else {
            next.run(ctx).await
        }
    }
}

/// Which schema limit an async-graphql message reports, if any.
fn limit_kind(message: &str) -> Option<&'static str> {
    [
        ("nested too deep", "depth"),
        ("too complex", "complexity"),
        ("recursion depth", "recursive_depth"),
        ("number of directives", "directives"),
    ]
    .into_iter()
    .find_map(|(text, kind)| message.contains(text).then_some(kind))
}

/// Gives every error of a response a code: errors before execution (no `path`) are schema limits
/// (`QUERY_LIMIT_EXCEEDED`, with `limit`) or `GRAPHQL_VALIDATION_FAILED`; errors async-graphql raised
/// while coercing an argument are `BAD_USER_INPUT`. Our own resolver errors already carry codes.
/// Returns the limits that were hit.
pub fn code_errors(response: &mut async_graphql::Response) -> Vec<&'static str> {
    let mut limits = Vec::new();
    response.errors.truncate(MAX_ERRORS);
    for error in &mut response.errors {
        let before_execution = error.path.is_empty();
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_some() {
            continue;
        }
        match limit_kind(&error.message) {
            Some(kind) if before_execution => {
                extensions.set("code", "QUERY_LIMIT_EXCEEDED");
                extensions.set("limit", kind);
                limits.push(kind);
            }
            _ if before_execution => extensions.set("code", "GRAPHQL_VALIDATION_FAILED"),
            _ => extensions.set("code", "BAD_USER_INPUT"),
        }
    }
    limits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_get_codes_by_stage() {
        let mut response = async_graphql::Response::from_errors(vec![
            ServerError::new("Query is nested too deep.", None),
            ServerError::new("Unknown field \"x\" on type \"QueryRoot\".", None),
        ]);
        assert_eq!(code_errors(&mut response), vec!["depth"]);
        let codes: Vec<_> = response
            .errors
            .iter()
            .map(|e| e.extensions.as_ref().and_then(|x| x.get("code")).cloned())
            .collect();
        assert_eq!(
            codes,
            vec![
                Some("QUERY_LIMIT_EXCEEDED".into()),
                Some("GRAPHQL_VALIDATION_FAILED".into())
            ]
        );
        let many = (0..100).map(|_| ServerError::new("x", None)).collect();
        let mut response = async_graphql::Response::from_errors(many);
        code_errors(&mut response);
        assert_eq!(response.errors.len(), MAX_ERRORS);
    }
}
