//! The users slice of the GraphQL schema.

use async_graphql::{Context, Object, ResultExt as _, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use std::sync::Arc;

use super::service;
use crate::auth::viewers::ViewerCache;
use crate::resolver::viewer;

/// A signed-in person, as they see themselves.
#[derive(SimpleObject)]
#[graphql(name = "User")]
pub struct UserView {
    pub id: Uuid,
    pub email: Option<String>,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<&super::User> for UserView {
    fn from(user: &super::User) -> Self {
        Self {
            id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            created_at: user.created_at,
        }
    }
}

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The signed-in user; `null` when the request carries no token.
    async fn me(&self, ctx: &Context<'_>) -> Option<UserView> {
        viewer(ctx).user().ok().map(UserView::from)
    }
}

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Changes the signed-in user's display name (1 to 200 characters).
    async fn update_profile(&self, ctx: &Context<'_>, name: String) -> async_graphql::Result<UserView> {
        let user = viewer(ctx).user().extend()?;
        let mut conn = crate::resolver::conn(ctx).await?;
        let updated = service::update_profile(&mut conn, user, &name).await.extend()?;
        ctx.data::<Arc<ViewerCache>>()?.forget(&user.clerk_id);
        Ok(UserView::from(&updated))
    }

    /// Deletes the signed-in user's account and everything they own. Returns true.
    async fn delete_account(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let user = viewer(ctx).user().extend()?;
        let mut conn = crate::resolver::conn(ctx).await?;
        service::delete_account(&mut conn, user).await.extend()?;
        ctx.data::<Arc<ViewerCache>>()?.forget(&user.clerk_id);
        // The account's images went with it; their files go now rather than at the next maintenance run.
        ctx.data::<std::sync::Arc<crate::media::MediaService>>()?
            .collect_garbage(&mut conn)
            .await;
        Ok(true)
    }
}
