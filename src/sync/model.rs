//! The `tombstones` table: read per owner and household, purged by age.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::tombstones;

#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = tombstones)]
pub struct Tombstone {
    pub kind: String,
    pub object_id: Uuid,
    pub deleted_at: DateTime<Utc>,
}

impl Tombstone {
    /// The viewer's tombstones and those of their households at or after `since`, oldest first, at most
    /// `limit`.
    pub async fn since(
        conn: &mut AsyncPgConnection,
        viewer: Uuid,
        since: DateTime<Utc>,
        limit: i64,
    ) -> QueryResult<Vec<Self>> {
        tombstones::table
            .filter(crate::households::shared_scope!(tombstones, viewer))
            .filter(tombstones::deleted_at.ge(since))
            .order((tombstones::deleted_at, tombstones::id))
            .limit(limit)
            .select(Self::as_select())
            .load(conn)
            .await
    }
}

/// Removes tombstones older than `before` (the maintenance run); how many went.
pub async fn purge_older_than(conn: &mut AsyncPgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(tombstones::table.filter(tombstones::deleted_at.lt(before)))
        .execute(conn)
        .await
}
