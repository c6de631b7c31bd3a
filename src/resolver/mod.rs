//! What every resolver uses, below the domains that define them: who is asking, the request's database
//! connection, the `Date` scalar and cursor paging. The schema they are assembled into (`graphql`) sits above
//! the domains; this room does not.

pub mod date;
pub mod paging;

/// Who is asking (anonymous when the request carried no credentials).
pub fn viewer<'a>(ctx: &'a async_graphql::Context<'_>) -> &'a crate::auth::Viewer {
    ctx.data_opt::<crate::auth::Viewer>()
        .unwrap_or(&crate::auth::Viewer::Anonymous)
}

/// The signed-in user's id, or `UNAUTHENTICATED`.
pub fn viewer_id(ctx: &async_graphql::Context<'_>) -> crate::error::AppResult<uuid::Uuid> {
    viewer(ctx).user().map(|u| u.id)
}

/// The request's connection for a resolver (`SERVICE_UNAVAILABLE` when the pool cannot provide one in time).
/// Hold it only while using it: the request's other resolvers wait for it.
pub async fn conn(ctx: &async_graphql::Context<'_>) -> async_graphql::Result<crate::db::Conn> {
    use crate::error::GqlResult as _;
    ctx.data::<crate::db::RequestConnection>()?.lock().await.gql()
}
