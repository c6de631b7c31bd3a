//! `changes(since)`: the ids a client must drop since its last sync, or `fullResyncRequired`.

use async_graphql::{Context, Enum, Object, ResultExt as _, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::model::Tombstone;
use crate::error::{AppError, GqlResult as _};
use crate::resolver::{conn, viewer_id};

/// At most this many deletions in one answer; past it the client resyncs instead.
pub const MAX_DELETIONS: i64 = 5_000;

/// How long deletions are remembered (`TOMBSTONE_RETENTION_DAYS`), in the schema's data.
#[derive(Clone, Copy, Debug)]
pub struct SyncSettings {
    pub retention: chrono::Duration,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DeletedKind {
    Recipe,
    Tag,
    Collection,
    Image,
    MealPlan,
    MealPlanEntry,
    ShoppingList,
    ShoppingListItem,
    /// The viewer is no longer in this household (left, removed, or it was deleted): drop everything it shares.
    Household,
}

impl DeletedKind {
    fn from_db(kind: &str) -> Option<Self> {
        match kind {
            "RECIPE" => Some(Self::Recipe),
            "TAG" => Some(Self::Tag),
            "COLLECTION" => Some(Self::Collection),
            "IMAGE" => Some(Self::Image),
            "MEAL_PLAN" => Some(Self::MealPlan),
            "MEAL_PLAN_ENTRY" => Some(Self::MealPlanEntry),
            "SHOPPING_LIST" => Some(Self::ShoppingList),
            "SHOPPING_LIST_ITEM" => Some(Self::ShoppingListItem),
            "HOUSEHOLD" => Some(Self::Household),
            _ => None,
        }
    }
}

/// Something the client may still hold that no longer exists.
#[derive(SimpleObject)]
pub struct Deletion {
    pub kind: DeletedKind,
    pub id: Uuid,
    pub deleted_at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct Changes {
    /// Pass it as `since` next time.
    pub server_time: DateTime<Utc>,
    /// `since` is older than the deletions kept (`TOMBSTONE_RETENTION_DAYS`), or more changed than one answer
    /// holds: drop everything local and fetch it again; `deleted` is then empty.
    pub full_resync_required: bool,
    /// Oldest first.
    pub deleted: Vec<Deletion>,
}

#[derive(Default)]
pub struct SyncQuery;

#[Object]
impl SyncQuery {
    /// What the signed-in user deleted since `since` (recipes, tags, collections, images, meal plans and their
    /// entries, shopping lists and their items), on any device and by any path, cascades included, what
    /// members of their households deleted of what those share, and the households they are no longer in.
    /// Together with `recipes(filter: { updatedSince })` this is a delta sync.
    async fn changes(&self, ctx: &Context<'_>, since: DateTime<Utc>) -> async_graphql::Result<Changes> {
        let owner = viewer_id(ctx).extend()?;
        if !crate::db::fits_timestamptz(&since) {
            return Err(AppError::bad_input("since", "instant out of range")).extend();
        }
        let settings = ctx.data::<SyncSettings>()?;
        let server_time = Utc::now();
        let resync = Changes {
            server_time,
            full_resync_required: true,
            deleted: Vec::new(),
        };
        if since < server_time - settings.retention {
            return Ok(resync);
        }
        let mut conn = conn(ctx).await?;
        let rows = Tombstone::since(&mut conn, owner, since, MAX_DELETIONS + 1)
            .await
            .gql()?;
        if rows.len() as i64 > MAX_DELETIONS {
            return Ok(resync);
        }
        Ok(Changes {
            server_time,
            full_resync_required: false,
            deleted: rows
                .into_iter()
                .filter_map(|row| {
                    Some(Deletion {
                        kind: DeletedKind::from_db(&row.kind)?,
                        id: row.object_id,
                        deleted_at: row.deleted_at,
                    })
                })
                .collect(),
        })
    }
}
