//! What changes users: Clerk webhook events, profile edits, account deletion.

use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use serde::Deserialize;

use super::model::{record_delivery, MAX_NAME_CHARS};
use super::{NewUser, User, UserChangeset};
use crate::auth::viewers::ViewerCache;
use crate::auth::Identity;
use crate::db::DbPool;
use crate::error::{AppError, AppResult};

/// A Clerk webhook event (`{"type": "user.created", "data": {...}}`).
#[derive(Debug, Deserialize)]
pub struct ClerkEvent {
    #[serde(rename = "type")]
    pub kind: String,
    pub data: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct ClerkUser {
    id: String,
    #[serde(default)]
    email_addresses: Vec<ClerkEmail>,
    primary_email_address_id: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    username: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ClerkEmail {
    id: String,
    email_address: String,
}

impl ClerkUser {
    fn identity(self) -> Identity {
        let email = self
            .email_addresses
            .iter()
            .find(|e| Some(&e.id) == self.primary_email_address_id.as_ref())
            .or(self.email_addresses.first())
            .map(|e| e.email_address.clone());
        let full = [self.first_name, self.last_name]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let name = Some(full.trim().to_owned()).filter(|n| !n.is_empty()).or(self.username);
        Identity {
            subject: self.id,
            email,
            name,
        }
    }
}

/// What a delivery did.
#[derive(Debug, PartialEq, Eq)]
pub enum WebhookOutcome {
    Applied,
    /// Seen before: nothing changed.
    Duplicate,
    /// An event type we do not act on.
    Ignored,
}

/// Applies one verified delivery, exactly once per Svix id (the record and the change commit together).
/// The changed user is forgotten by `viewers`, so that the next request sees the change.
pub async fn apply_clerk_event(
    pool: &DbPool,
    viewers: &ViewerCache,
    svix_id: &str,
    event: ClerkEvent,
) -> AppResult<WebhookOutcome> {
    let user: Option<ClerkUser> = match event.kind.as_str() {
        "user.created" | "user.updated" | "user.deleted" => Some(
            serde_json::from_value(event.data)
                .map_err(|e| AppError::BadRequest(format!("malformed user event: {e}")))?,
        ),
        _ => None,
    };
    if let Some(user) = &user {
        if user.id.is_empty() || user.id.len() > 255 {
            return Err(AppError::BadRequest("malformed user id".into()));
        }
    }
    let subject = user.as_ref().map(|user| user.id.clone());
    let mut conn = pool.get().await?;
    let kind = event.kind;
    let outcome = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            if !record_delivery(conn, svix_id, &kind).await? {
                return Ok(WebhookOutcome::Duplicate);
            }
            let Some(user) = user else {
                return Ok(WebhookOutcome::Ignored);
            };
            if kind == "user.deleted" {
                User::delete_by_subject(conn, &user.id).await?;
            } else {
                User::upsert_profile(conn, NewUser::from_identity(&user.identity())).await?;
            }
            Ok(WebhookOutcome::Applied)
        })
        .await?;
    if let Some(subject) = subject {
        viewers.forget(&subject);
    }
    Ok(outcome)
}

/// Sets the viewer's display name (trimmed, 1 to 200 characters, no control characters).
pub async fn update_profile(conn: &mut AsyncPgConnection, user: &User, name: &str) -> AppResult<User> {
    let name = crate::text::required("name", name, MAX_NAME_CHARS, crate::text::Lines::Single)?;
    let changes = UserChangeset {
        email: None,
        name: Some(Some(name)),
    };
    Ok(User::update(conn, user.id, changes).await?)
}

/// Deletes the account and everything it owns: the same path as Clerk's `user.deleted`.
pub async fn delete_account(conn: &mut AsyncPgConnection, user: &User) -> AppResult<()> {
    User::delete_by_subject(conn, &user.clerk_id).await?;
    tracing::info!(user_id = %user.id, "account deleted");
    Ok(())
}
