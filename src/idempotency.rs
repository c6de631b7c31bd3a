//! Idempotent mutations: the first response to a mutation sent with an `Idempotency-Key` header is kept for
//! 24 hours per (user, key) with a hash of the request, in the same transaction as the mutation's writes, so
//! that a client unsure whether its request went through (a lost connection, an offline queue replayed) can
//! send it again: the same request gets the stored response without running twice.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::db::schema::idempotency_keys;
use crate::error::{AppError, AppResult};

/// How long a stored response answers replays.
pub const RETENTION: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// Longest key accepted (a UUID is 36 characters).
pub const MAX_KEY_CHARS: usize = 255;
/// The advisory-lock class of idempotency keys (uploads use 727001).
const LOCK_CLASS: i32 = 727_002;

/// The `Idempotency-Key` header's value: an RFC 8941 string (`"…"`, as the IETF draft defines it) or the bare
/// token most clients send; 1 to 255 visible ASCII characters either way.
fn parse_key(header: &str) -> AppResult<String> {
    let trimmed = header.trim();
    let key = trimmed
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .unwrap_or(trimmed);
    if key.is_empty() || key.len() > MAX_KEY_CHARS || !key.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err(AppError::BadRequest(format!(
            "`Idempotency-Key` must be 1 to {MAX_KEY_CHARS} visible ASCII characters"
        )));
    }
    Ok(key.to_owned())
}

/// The key of a request's `Idempotency-Key` headers: none, or exactly one usable one. Two keys are refused
/// rather than one of them picked. (A value that is not UTF-8 never gets here: Rocket drops such a header,
/// so the proxies in `deploy/` refuse it.)
pub fn parse_keys(headers: &[String]) -> AppResult<Option<String>> {
    match headers {
        [] => Ok(None),
        [header] => parse_key(header).map(Some),
        _ => Err(AppError::BadRequest(
            "send one `Idempotency-Key` header, not several".into(),
        )),
    }
}

/// What a request with a key may do.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// First time (or the stored response has expired): run it, then `store` the response.
    Fresh,
    /// Already answered: send this again.
    Replay { status: u16, body: String },
    /// The key was used for a different request.
    Reused,
    /// A request with this key is running now.
    Busy,
}

/// Claims (user, key) for this request inside the request's transaction. The advisory lock is held until
/// that transaction ends, so a concurrent request with the same key is told `Busy` instead of waiting, and
/// one that comes after the commit reads the stored response.
pub async fn claim(conn: &mut AsyncPgConnection, user_id: Uuid, key: &str, request_hash: &[u8]) -> QueryResult<Claim> {
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = Bool)]
        locked: bool,
    }
    let Locked { locked } = diesel::sql_query("select pg_try_advisory_xact_lock($1, hashtext($2)) as locked")
        .bind::<diesel::sql_types::Integer, _>(LOCK_CLASS)
        .bind::<Text, _>(format!("{user_id}:{key}"))
        .get_result(conn)
        .await?;
    if !locked {
        return Ok(Claim::Busy);
    }
    let stored: Option<(Vec<u8>, i16, String)> = idempotency_keys::table
        .find((user_id, key))
        .filter(idempotency_keys::created_at.gt(Utc::now() - RETENTION))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::status,
            idempotency_keys::body,
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(match stored {
        None => Claim::Fresh,
        Some((hash, _, _)) if hash != request_hash => Claim::Reused,
        Some((_, status, body)) => Claim::Replay {
            status: u16::try_from(status).unwrap_or(200),
            body,
        },
    })
}

/// Keeps the response of a claimed key (replacing an expired one). Nothing is kept when the request deleted
/// its own user: there is nobody left to replay for.
pub async fn store(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    key: &str,
    request_hash: &[u8],
    status: u16,
    body: &str,
) -> QueryResult<()> {
    use crate::db::schema::users;
    let status = i16::try_from(status).unwrap_or(200);
    let row = users::table.filter(users::id.eq(user_id)).select((
        users::id,
        key.into_sql::<Text>(),
        request_hash.into_sql::<diesel::sql_types::Bytea>(),
        status.into_sql::<diesel::sql_types::SmallInt>(),
        body.into_sql::<Text>(),
    ));
    diesel::insert_into(idempotency_keys::table)
        .values(row)
        .into_columns((
            idempotency_keys::user_id,
            idempotency_keys::key,
            idempotency_keys::request_hash,
            idempotency_keys::status,
            idempotency_keys::body,
        ))
        .on_conflict((idempotency_keys::user_id, idempotency_keys::key))
        .do_update()
        .set((
            idempotency_keys::request_hash.eq(diesel::upsert::excluded(idempotency_keys::request_hash)),
            idempotency_keys::status.eq(diesel::upsert::excluded(idempotency_keys::status)),
            idempotency_keys::body.eq(diesel::upsert::excluded(idempotency_keys::body)),
            idempotency_keys::created_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets responses older than the retention (the maintenance run).
pub async fn purge_expired(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.le(now - RETENTION)))
        .execute(conn)
        .await
}

/// The hash a replay must match: the operation (document, name, variables) and every file's content.
pub fn request_hash(request: &async_graphql::Request, file_hashes: &[String]) -> Vec<u8> {
    let mut hash = Sha256::new();
    for part in [
        request.query.as_str(),
        request.operation_name.as_deref().unwrap_or_default(),
        &serde_json::to_string(&request.variables).unwrap_or_default(),
    ] {
        hash.update(part.len().to_le_bytes());
        hash.update(part.as_bytes());
    }
    for file in file_hashes {
        hash.update(file.as_bytes());
    }
    hash.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_strings_or_tokens_of_visible_ascii() {
        assert_eq!(parse_key("abc-123").ok().as_deref(), Some("abc-123"));
        assert_eq!(
            parse_key("\"8e03978e-40d5-43e8-bc93-6894a57f9324\"").ok().as_deref(),
            Some("8e03978e-40d5-43e8-bc93-6894a57f9324")
        );
        for bad in ["", "\"\"", "   ", "caf\u{e9}", "a\tb", &"k".repeat(256)] {
            assert_eq!(parse_key(bad).err().map(|e| e.code()), Some("BAD_REQUEST"), "{bad:?}");
        }
    }

    #[test]
    fn the_hash_covers_document_name_variables_and_files() {
        let request = |query: &str, variables: serde_json::Value| {
            async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(variables))
        };
        let base = request_hash(&request("mutation { a }", serde_json::json!({"x": 1})), &[]);
        assert_eq!(
            base,
            request_hash(&request("mutation { a }", serde_json::json!({"x": 1})), &[])
        );
        assert_ne!(
            base,
            request_hash(&request("mutation { a }", serde_json::json!({"x": 2})), &[])
        );
        assert_ne!(
            base,
            request_hash(&request("mutation { b }", serde_json::json!({"x": 1})), &[])
        );
        assert_ne!(
            base,
            request_hash(
                &request("mutation { a }", serde_json::json!({"x": 1})),
                &["00ff".into()]
            )
        );
    }
}
