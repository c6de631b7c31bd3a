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

/// Short enough for the column and shaped like an address; anything else is not kept.
pub fn plausible_email(email: &str) -> bool {
    email.len() <= MAX_EMAIL && email.contains('@')
}

impl NewUser {
    /// Claims are untrusted text: over-long values are dropped rather than failing the sign-in.
    pub fn from_identity(identity: &Identity) -> Self {
        Self {
            id: Uuid::now_v7(),
            clerk_id: identity.subject.clone(),
            email: identity.email.clone().filter(|e| plausible_email(e)),
            name: identity.name.clone().filter(|n| n.chars().count() <= MAX_NAME),
        }
    }
}

/// Profile fields an identity provider asserts (webhooks) or the user edits.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChangeset {
    pub email: Option<Option<String>>,
    pub name: Option<Option<String>>,
}

/// Longest display name a user may set.
pub const MAX_NAME_CHARS: usize = MAX_NAME;

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

    /// Creates or updates the user with this subject from the provider's view of them (webhooks).
    pub async fn upsert_profile(conn: &mut AsyncPgConnection, new: NewUser) -> QueryResult<User> {
        let changes = UserChangeset {
            email: Some(new.email.clone()),
            name: Some(new.name.clone()),
        };
        diesel::insert_into(users::table)
            .values(&new)
            .on_conflict(users::clerk_id)
            .do_update()
            .set(changes)
            .returning(User::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn update(conn: &mut AsyncPgConnection, id: Uuid, changes: UserChangeset) -> QueryResult<User> {
        diesel::update(users::table.find(id))
            .set(changes)
            .returning(User::as_returning())
            .get_result(conn)
            .await
    }

    /// Locks the user's row until the transaction ends, so that one user's concurrent decisions that span
    /// rows (which plan is active, how many plans or lists they hold) are made one after another.
    pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
        users::table
            .find(id)
            .select(users::id)
            .for_update()
            .first::<Uuid>(conn)
            .await
            .map(drop)
    }

    /// Deletes the user; their rows go with them through `on delete cascade`. Returns whether a row existed.
    pub async fn delete_by_subject(conn: &mut AsyncPgConnection, clerk_id: &str) -> QueryResult<bool> {
        let deleted = diesel::delete(users::table.filter(users::clerk_id.eq(clerk_id)))
            .execute(conn)
            .await?;
        Ok(deleted > 0)
    }
}

/// Records a webhook delivery; false when it was seen before (redelivery).
pub async fn record_delivery(conn: &mut AsyncPgConnection, svix_id: &str, event_type: &str) -> QueryResult<bool> {
    use crate::db::schema::webhook_deliveries::dsl;
    let inserted = diesel::insert_into(dsl::webhook_deliveries)
        .values((dsl::svix_id.eq(svix_id), dsl::event_type.eq(event_type)))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    // Keep a week of ids: Svix retries for about three days.
    diesel::delete(dsl::webhook_deliveries.filter(dsl::received_at.lt(chrono::Utc::now() - chrono::Duration::days(7))))
        .execute(conn)
        .await?;
    Ok(inserted > 0)
}
