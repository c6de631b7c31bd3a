//! A request that runs as one transaction (a mutation with an `Idempotency-Key`) gives each top-level
//! mutation field a savepoint: a field that fails leaves nothing behind and does not poison the transaction
//! for the fields after it, exactly as when each field commits on its own.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo};
use async_graphql::{ServerResult, Value};
use diesel_async::TransactionManager as _;

use crate::db::RequestConnection;
use crate::error::AppError;

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
        type Savepoints = diesel_async::AnsiTransactionManager;
        let opened = match shared.lock().await {
            Ok(mut conn) => Savepoints::begin_transaction(&mut **conn).await.map_err(AppError::from),
            Err(e) => Err(e),
        };
        if let Err(e) = opened {
            // The connection is failing: the field meets the same fault and reports it with its code.
            tracing::warn!(error = %e, "could not open a mutation field's savepoint");
            return next.run(ctx, info).await;
        }
        let resolved = next.run(ctx, info).await;
        let ended = match shared.lock().await {
            Ok(mut conn) if resolved.is_ok() => Savepoints::commit_transaction(&mut **conn)
                .await
                .map_err(AppError::from),
            Ok(mut conn) => Savepoints::rollback_transaction(&mut **conn)
                .await
                .map_err(AppError::from),
            Err(e) => Err(e),
        };
        if let Err(e) = ended {
            // The request's transaction cannot be committed now; the request layer sees that when it stores
            // the response, and answers accordingly.
            tracing::warn!(error = %e, "could not end a mutation field's savepoint");
        }
        resolved
    }
}
