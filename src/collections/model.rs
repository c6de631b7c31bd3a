//! The `collections` and `collection_recipes` tables; every query is scoped by the viewer here. A collection is
//! of one set (the owner's own, or a household's) and holds that set's recipes only.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{collection_recipes, collections, recipes};
use crate::households::{shared_scope, shared_set};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = collections, check_for_backend(diesel::pg::Pg))]
pub struct Collection {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub household_id: Option<Uuid>,
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = collections)]
pub struct CollectionChangeset {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
}

impl Collection {
    /// A collection the viewer may see; `NotFound` for a missing or foreign id alike.
    pub async fn find(conn: &mut AsyncPgConnection, viewer: Uuid, id: Uuid) -> QueryResult<Collection> {
        collections::table
            .filter(collections::id.eq(id).and(shared_scope!(collections, viewer)))
            .select(Collection::as_select())
            .first(conn)
            .await
    }

    /// The collections of one set: the viewer's own (`household: None`) or a household's (checked by the caller).
    pub async fn list(
        conn: &mut AsyncPgConnection,
        viewer: Uuid,
        household: Option<Uuid>,
    ) -> QueryResult<Vec<Collection>> {
        collections::table
            .filter(shared_set!(collections, viewer, household))
            .order((collections::name, collections::id))
            .select(Collection::as_select())
            .load(conn)
            .await
    }

    /// `collections_owner_name_key` (`collections_household_name_key`) is violated by a name the owner (the
    /// household) already uses. `NotFound` for a household the owner is not in.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        owner_id: Uuid,
        household: Option<Uuid>,
        name: String,
        description: Option<String>,
    ) -> QueryResult<Collection> {
        crate::households::check_set(conn, owner_id, household).await?;
        diesel::insert_into(collections::table)
            .values((
                collections::id.eq(Uuid::now_v7()),
                collections::owner_id.eq(owner_id),
                collections::household_id.eq(household),
                collections::name.eq(name),
                collections::description.eq(description),
            ))
            .returning(Collection::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn update(
        conn: &mut AsyncPgConnection,
        viewer: Uuid,
        id: Uuid,
        changes: CollectionChangeset,
    ) -> QueryResult<Collection> {
        diesel::update(collections::table.filter(collections::id.eq(id).and(shared_scope!(collections, viewer))))
            .set(changes)
            .returning(Collection::as_returning())
            .get_result(conn)
            .await
    }

    /// Deletes the collection, never its recipes; false when there was none.
    pub async fn delete(conn: &mut AsyncPgConnection, viewer: Uuid, id: Uuid) -> QueryResult<bool> {
        let deleted =
            diesel::delete(collections::table.filter(collections::id.eq(id).and(shared_scope!(collections, viewer))))
                .execute(conn)
                .await?;
        Ok(deleted > 0)
    }

    /// Appends the recipes of the collection's set among `recipe_ids` not yet in the collection, keeping the given
    /// order; returns how many of the ids are of its set (the caller refuses the rest: then nothing was added).
    pub async fn add_recipes(&self, conn: &mut AsyncPgConnection, recipe_ids: &[Uuid]) -> QueryResult<usize> {
        let owned: Vec<Uuid> = recipes::table
            .filter(shared_set!(recipes, self.owner_id, self.household_id))
            .filter(recipes::id.eq_any(recipe_ids))
            .select(recipes::id)
            .load(conn)
            .await?;
        let asked: std::collections::HashSet<&Uuid> = recipe_ids.iter().collect();
        if owned.len() != asked.len() {
            return Ok(owned.len());
        }
        let next: Option<i32> = collection_recipes::table
            .filter(collection_recipes::collection_id.eq(self.id))
            .select(diesel::dsl::max(collection_recipes::position))
            .first(conn)
            .await?;
        let start = next.map_or(0, |p| p + 1);
        let rows: Vec<_> = recipe_ids
            .iter()
            .filter(|id| owned.contains(id))
            .enumerate()
            .map(|(i, id)| {
                (
                    collection_recipes::collection_id.eq(self.id),
                    collection_recipes::recipe_id.eq(*id),
                    collection_recipes::position.eq(start + i32::try_from(i).unwrap_or(0)),
                )
            })
            .collect();
        diesel::insert_into(collection_recipes::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        Ok(owned.len())
    }

    pub async fn remove_recipes(&self, conn: &mut AsyncPgConnection, recipe_ids: &[Uuid]) -> QueryResult<()> {
        diesel::delete(
            collection_recipes::table.filter(
                collection_recipes::collection_id
                    .eq(self.id)
                    .and(collection_recipes::recipe_id.eq_any(recipe_ids)),
            ),
        )
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Recipe counts for several collections in one statement.
    pub async fn recipe_counts(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<(Uuid, i64)>> {
        collection_recipes::table
            .filter(collection_recipes::collection_id.eq_any(ids))
            .group_by(collection_recipes::collection_id)
            .select((collection_recipes::collection_id, diesel::dsl::count_star()))
            .load(conn)
            .await
    }
}
