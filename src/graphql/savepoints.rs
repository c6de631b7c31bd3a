//! A request that runs as one transaction (a mutation with an `Idempotency-Key`) gives each top-level
//! mutation field a savepoint: a field that fails leaves nothing behind and does not poison the transaction
//! for the fields after it, exactly as when each field commits on its own.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo};
use async_graphql::{ServerResult, Value};

use crate::db::RequestConnection;

pub struct FieldSavepoints;

impl ExtensionFactory for FieldSavepoints {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(FieldSavepoints)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for FieldSavepoints {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let shared = ctx.data_opt::<RequestConnection>();
        let Some(shared) = shared.filter(|s| s.in_transaction() && info.path_node.parent.is_none()) else {
            return next.run(ctx, info).await;
        };
        if let Err(e) = shared.open().await {
            // The connection is failing: the field meets the same fault and reports it with its code.
            tracing::warn!(error = %e, "could not open a mutation field's savepoint");
            return next.run(ctx, info).await;
        }
        let resolved = next.run(ctx, info).await;
        if let Err(e) = shared.close(resolved.is_ok()).await {
            // The request's transaction cannot be committed now; the request layer sees that when it stores
            // the response, and answers accordingly.
            tracing::warn!(error = %e, "could not end a mutation field's savepoint");
        }
        resolved
    }
}
