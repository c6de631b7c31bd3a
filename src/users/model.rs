//! The `users` table and its queries.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::Identity;
use crate::db::schema::users;

/// Longest e-mail and display name we keep (the table's check constraints agree).
const MAX_EMAIL: usize = 320;
const MAX_NAME: usize = 200;

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: Uuid,
    /// The identity provider's subject (`user_…` from Clerk, `dev_…` for dev tokens).
    pub clerk_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub id: Uuid,
    pub clerk_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

impl NewUser {
    /// Claims are untrusted text: over-long values are dropped rather than failing the sign-in.
    pub fn from_identity(identity: &Identity) -> Self {
        Self {
            id: Uuid::now_v7(),
            clerk_id: identity.subject.clone(),
            email: identity
                .email
                .clone()
                .filter(|e| e.len() <= MAX_EMAIL && e.contains('@')),
            name: identity
                .name
                .clone()
                .filter(|n| n.chars().count() <= MAX_NAME),
        }
    }
}

impl User {
    /// The user with this subject, created on first sight. Racing first requests create one row:
    /// the insert's conflict arm returns the winner's row.
    pub async fn find_or_create(conn: &mut AsyncPgConnection, new: NewUser) -> QueryResult<User> {
        let existing = users::table
            .filter(users::clerk_id.eq(&new.clerk_id))
            .select(User::as_select())
            .first(conn)
            .await
            .optional()?;
        if let Some(user) = existing {
            return Ok(user);
        }
        diesel::insert_into(users::table)
            .values(&new)
            .on_conflict(users::clerk_id)
            .do_update()
            .set(users::clerk_id.eq(diesel::upsert::excluded(users::clerk_id)))
            .returning(User::as_returning())
            .get_result(conn)
            .await
    }
}
