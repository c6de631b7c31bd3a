//! The users slice of the GraphQL schema.

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::Viewer;

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
        match ctx.data_opt::<Viewer>() {
            Some(Viewer::User(user)) => Some(user.into()),
            _ => None,
        }
    }
}
